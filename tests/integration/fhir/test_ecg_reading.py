"""Reading in the ECG centre (远程心电诊断) on the shared reading flow: 三江社区 orders an ECG,
its cart pushes the recording with storescu under the order's accession number (待阅片), a
cardiologist of the centre claims it, writes rhythm, rate, axis, intervals and coded
conclusions (the device's figures prefilled), and — the centre signing alone — the report is
final at once and reaches the clinic; a two-level centre still verifies.  The chest-pain fast
track: stat, due ten minutes from the recording's arrival, on time or escalated; ST elevation
raises a critical alert to the clinic."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from subprocess import run

from sqlalchemy import update

from gateway.ecg.conclusions import SYSTEM
from gateway.workflow.escalation import on_due
from storage.clinical import reading_milestones
from storage.db import transaction
from storage.models import Centre, ReadingMilestones
from tests.dicom_data import Patient, Study
from tests.ecg_data import MEASURED, aecg_from_dicom, pydicom_sample, synthetic, twelve_lead
from tests.integration.dicomweb.conftest import Gateway
from tests.integration.fhir.test_ecg import XML, stable
from tests.integration.fhir.test_indicators import evaluated, figure
from tests.integration.fhir.test_orders_in import CATEGORY, tasks_of
from tests.integration.fhir.test_reading import (
    parameters,
    pdf_text,
    read,
    state,
    step,
    told_about,
)
from tests.integration.fhir.test_rest import call
from tests.integration.fhir.test_subscriptions import Receiver, subscribe
from tests.servers import drain_outbox

CLINIC, CART = "his-sj-sq", "SJSQ_ECG1"  # 三江社区 and its ECG cart
CART_CLIENT = "his-sj-sq-ecg"  # the cart uploading HL7 aECG
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
CHEST_PAIN = {"coding": [{"system": SNOMED, "code": "29857009", "display": "Chest pain"}]}


def order_ecg(gateway: Gateway, reason: dict | None = None) -> dict:
    patient = call(gateway, "POST", "/Patient", CLINIC, body={
        "resourceType": "Patient", "name": [{"text": "李四海"}], "gender": "male",
        "birthDate": "1961-05-01",
        "identifier": [{"system": "urn:yilian:patient-id:sj-sq", "value": "SJ000777"}],
    }).json()  # fmt: skip
    order = {
        "resourceType": "ServiceRequest", "status": "active", "intent": "order",
        "priority": "routine",
        "category": [{"coding": [{"system": CATEGORY, "code": "ecg"}]}],
        "code": {"coding": [{"system": "urn:his:sj-sq", "code": "ECG12"}],
                 "text": "常规十二导联心电图"},
        "subject": {"reference": f"Patient/{patient['id']}"},
        "requester": {"reference": "Organization/sj-sq"},
        "authoredOn": "2026-12-02T08:30:00+08:00",
        **({"reasonCode": [reason]} if reason else {}),
    }  # fmt: skip
    placed = call(gateway, "POST", "/ServiceRequest", CLINIC, body=order)
    assert placed.status_code == 201, placed.text
    drain_outbox(gateway.node.platform)
    return placed.json()


def recorded(gateway: Gateway, order: dict, directory: Path) -> dict:
    """The cart pushes the recording under the order's accession; the Task, 待阅片."""
    current = read(gateway, f"ServiceRequest/{order['id']}", CLINIC)
    [accession] = [i["value"] for i in current["identifier"] if "type" in i]
    study = Study(patient=Patient(patient_id="SJ000777", name="Li^Sihai=李^四海"),
                  accession=accession, description="常规心电图")  # fmt: skip
    pushed = gateway.node.storescu(twelve_lead(study, synthetic(), directory), calling=CART)
    assert pushed.returncode == 0, pushed.stderr
    stable(gateway)
    [task] = tasks_of(gateway, order, CLINIC)
    assert state(task) == ("ready", "待阅片")
    return task


def written(*codes: str, rate: int | None = None) -> dict:
    """The cardiologist's report: coded conclusions, and the rate when it differs."""
    report = {
        "resourceType": "DiagnosticReport", "status": "preliminary",
        "conclusionCode": [{"coding": [{"system": SYSTEM, "code": c}]} for c in codes],
    }  # fmt: skip
    if rate is not None:
        report["contained"] = [{
            "resourceType": "Observation", "id": "measurements", "status": "preliminary",
            "code": {"text": "心电图测量"},
            "component": [{"code": {"coding": [{"system": LOINC, "code": "8867-4"}]},
                           "valueQuantity": {"value": rate, "unit": "/min",
                                             "system": "http://unitsofmeasure.org",
                                             "code": "/min"}}],
        }]  # fmt: skip
    return report


def measured_figures(observation: dict) -> dict[str, object]:
    found: dict[str, object] = {}
    for component in observation["component"]:
        code = next(c["code"] for c in component["code"]["coding"] if c["system"] == LOINC)
        value = component.get("valueQuantity", {}).get("value")
        found[code] = value if value is not None else component["valueCodeableConcept"]["text"]
    return found


def test_a_cardiologist_signs_alone_and_the_clinic_reads_the_ecg_report(
    gateway: Gateway, tmp_path: Path, receiver: Receiver
):
    subscribe(gateway, CLINIC, f"http://127.0.0.1:{receiver.server_port}/his/reports")
    order = order_ecg(gateway)
    [waiting] = tasks_of(gateway, order, CLINIC)
    assert waiting["owner"]["reference"] == "HealthcareService/jhzx-ecg"
    assert state(waiting) == ("requested", "待检查")
    task = recorded(gateway, order, tmp_path / "cart")

    assert step(gateway, task, "claim", "zhouqiang").status_code == 404  # 婺城区's reader
    clinic = step(gateway, task, "claim", CLINIC)  # the clinic sees its Task, cannot read it
    assert clinic.status_code == 403
    assert clinic.json()["resourceType"] == "OperationOutcome"
    assert read(gateway, f"Task/{task['id']}", CLINIC)["meta"]["versionId"] == task["meta"][
        "versionId"]  # fmt: skip

    assert step(gateway, task, "claim", "hexin").status_code == 200
    wrong = step(gateway, task, "submit", "hexin", report=written("no-such-finding"))
    assert wrong.status_code == 422
    signed = step(gateway, task, "submit", "hexin",
                  report=written("sinus-rhythm", "normal-ecg", rate=75))  # fmt: skip
    assert signed.status_code == 200, signed.text
    assert state(signed.json()) == ("completed", "已发布")  # single sign-off: final at once

    reference = signed.json()["output"][0]["valueReference"]["reference"]
    drain_outbox(gateway.node.platform)  # the clinic's Subscription is told …
    [(_, _, body)] = [r for r in receiver.received if json.loads(r[2])["status"] == "final"]
    assert f"DiagnosticReport/{json.loads(body)['id']}" == reference
    report = read(gateway, reference, CLINIC)  # … and it reads the report
    assert report["status"] == "final"
    assert report["resultsInterpreter"][0]["reference"] == "Practitioner/hexin"
    assert report["conclusion"] == "窦性心律；正常心电图"
    assert report["conclusionCode"][0]["coding"][1] == {
        "system": SNOMED, "code": "426783006", "display": "Sinus rhythm"}  # fmt: skip
    [measured] = report["contained"]
    assert measured["status"] == "final"
    assert measured_figures(measured) == {
        "8884-9": "窦性心律", "8867-4": 75,  # the reader's rate, the device's other figures
        "8625-6": MEASURED["PR"], "8633-0": MEASURED["QRS"], "8634-8": MEASURED["QT"],
        "8636-3": MEASURED["QTc"], "8632-2": MEASURED["QRS axis"],
    }  # fmt: skip
    [recording] = call(gateway, "GET", "/Observation?code=urn:oid:2.16.840.1.113883.6.24|131328",
                       CLINIC).json()["entry"]  # fmt: skip
    ecg = f"Observation/{recording['resource']['id']}"
    assert report["result"] == [{"reference": "#measurements"}, {"reference": ecg}]
    assert measured["derivedFrom"] == [{"reference": ecg}]
    text, _ = pdf_text(report["presentedForm"][0], tmp_path)
    printed = ("心电图诊断报告", "窦性心律；正常心电图", "报告医师：何欣", "三江", "心律：窦性心律",
               "心率：75次/分", "电轴：30°", "PR间期：152ms", "QTc：402ms")  # fmt: skip
    for expected in printed:
        assert expected in text, expected
    # The 12-lead chart on a landscape page of its own, at true paper scale (8 px/mm).
    pdf = str(tmp_path / "report.pdf")
    pages = run(["/usr/bin/pdfinfo", "-l", "2", pdf], capture_output=True, text=True).stdout
    info = {k.strip(): v.split() for k, v in (line.split(":", 1) for line in pages.splitlines())}
    assert info["Pages"] == ["2"]
    assert info["Page    2 size"][:3] == ["841.89", "x", "595.28"]  # A4 landscape
    images = run(["/usr/bin/pdfimages", "-list", pdf], capture_output=True, text=True).stdout
    [chart] = [line.split() for line in images.splitlines()[2:]]
    assert (chart[0], chart[3], chart[4]) == ("2", "2160", "1480")  # page 2, 270 × 185 mm
    assert round(float(chart[12])) == 203  # dpi: 8 px/mm
    with transaction(gateway.node.platform.sessions) as session:
        row = reading_milestones.milestones(session, task["id"])
        assert row is not None
        assert row.author == row.verifier == "hexin"
        assert row.delivered_at is not None

    codes = call(gateway, "GET", "/CodeSystem?url=" + SYSTEM, CLINIC).json()["entry"]
    concepts = {c["code"]: c["display"] for c in codes[0]["resource"]["concept"]}
    assert concepts["st-elevation"] == "ST段抬高"


def test_a_two_level_centre_still_needs_a_verifier(gateway: Gateway, tmp_path: Path):
    with transaction(gateway.node.platform.sessions) as session:
        session.execute(update(Centre).where(Centre.id == "jhzx-ecg")
                        .values(single_sign_off=False))  # fmt: skip
    task = recorded(gateway, order_ecg(gateway), tmp_path / "cart")
    assert step(gateway, task, "claim", "hexin").status_code == 200
    submitted = step(gateway, task, "submit", "hexin", report=written("sinus-bradycardia"))
    assert state(submitted.json()) == ("in-progress", "待审核")
    assert step(gateway, task, "verify", "hexin").status_code == 403  # not a senior reader
    verified = step(gateway, task, "verify", "zhaomin")
    assert state(verified.json()) == ("completed", "已发布")


def test_a_chest_pain_ecg_is_due_ten_minutes_after_arrival_and_st_elevation_is_critical(
    gateway: Gateway, tmp_path: Path
):
    order = order_ecg(gateway, CHEST_PAIN)
    task = recorded(gateway, order, tmp_path / "cart")
    assert task["priority"] == "stat"
    with transaction(gateway.node.platform.sessions) as session:
        row = reading_milestones.milestones(session, task["id"])
        assert row is not None
        assert row.images_at is not None
        arrived, due_at = row.images_at, row.due_at
    due = datetime.fromisoformat(task["restriction"]["period"]["end"])
    assert due_at - arrived == timedelta(minutes=10)  # from the arrival, not from the order
    assert abs(due - due_at) < timedelta(milliseconds=1)  # the Task says it (in ms)

    assert step(gateway, task, "claim", "hexin").status_code == 200
    signed = step(gateway, task, "submit", "hexin", report=written("sinus-rhythm", "st-elevation"))
    assert state(signed.json()) == ("completed", "已发布")
    clock = call(gateway, "GET", f"/{task['basedOn'][0]['reference']}/$turnaround", CLINIC)
    assert clock.json()["onTime"] is True
    [alert] = told_about(gateway, f"ServiceRequest/{order['id']}", "Organization/sj-sq", CLINIC)
    assert alert["payload"][0]["contentString"] == "危急值：ST段抬高"
    [listed] = call(gateway, "GET", "/Communication/$critical-inbox", CLINIC).json()["alerts"]
    assert (listed["kind"], listed["raisedBy"]["username"]) == ("ecg", "hexin")

    # 首份心电图至诊断时间 for the month the order was placed in, per clinic.
    month = "periodStart=2026-12-01&periodEnd=2026-12-31"
    reports = evaluated(gateway, month)
    measured, minutes = figure(reports["chest-pain-ecg-to-diagnosis"], "Organization/sj-sq")
    assert measured == {"measure-population": 1}
    assert minutes is not None
    assert 0 <= minutes < 10
    in_time = reports["chest-pain-ecg-in-time-rate"]
    assert figure(in_time, "Organization/sj-sq") == ({"numerator": 1, "denominator": 1}, 1.0)


def test_a_chest_pain_ecg_not_read_in_ten_minutes_escalates(gateway: Gateway, tmp_path: Path):
    task = recorded(gateway, order_ecg(gateway, CHEST_PAIN), tmp_path / "cart")
    platform = gateway.node.platform
    on_due(platform, {"task": task["id"]})  # not due yet: nothing
    assert told_about(gateway, f"Task/{task['id']}", "Practitioner/lihua", "lihua") == []
    with transaction(platform.sessions) as session:  # eleven minutes pass
        session.execute(update(ReadingMilestones).where(ReadingMilestones.task_id == task["id"])
                        .values(due_at=datetime.now(UTC) - timedelta(minutes=1)))  # fmt: skip
    on_due(platform, {"task": task["id"]})
    [alert] = told_about(gateway, f"Task/{task['id']}", "Practitioner/lihua", "lihua")
    assert "超时" in alert["payload"][0]["contentString"]
    assert "超时上报" in read(gateway, f"Task/{task['id']}", "hexin")["note"][-1]["text"]


def test_an_aecg_the_clinic_marks_chest_pain_is_read_first(gateway: Gateway):
    """The cart uploads an HL7 aECG for its routine order, marked chest pain at upload."""
    order = order_ecg(gateway)
    measured = {"HR": 98, "PR": 160, "QRS": 90, "QT": 360, "QTc": 420}
    document = aecg_from_dicom(pydicom_sample(), "SJ000777", measured, ("窦性心律",))
    url = f"/Observation/$ingest-aecg?order=ServiceRequest/{order['id']}&chestPain=true"
    other = call(gateway, "POST", url.replace(order["id"], "no-such-order"), CART_CLIENT,
                 document, **{"Content-Type": XML})  # fmt: skip
    assert other.status_code == 404
    assert tasks_of(gateway, order, CLINIC)[0]["businessStatus"]["text"] == "待检查"
    sent = call(gateway, "POST", url, CART_CLIENT, document, **{"Content-Type": XML})
    assert sent.status_code == 201, sent.text
    recording = sent.json()
    assert recording["basedOn"] == [{"reference": f"ServiceRequest/{order['id']}"}]
    assert recording["subject"] == order["subject"]

    [task] = tasks_of(gateway, order, CLINIC)
    assert state(task) == ("ready", "待阅片")
    assert task["priority"] == "stat"
    with transaction(gateway.node.platform.sessions) as session:
        row = reading_milestones.milestones(session, task["id"])
        assert row is not None
        assert row.images_at is not None
        assert (row.priority, row.due_at - row.images_at) == ("stat", timedelta(minutes=10))
    assert step(gateway, task, "claim", "hexin").status_code == 200
    signed = step(gateway, task, "submit", "hexin", report=written("sinus-tachycardia"))
    report = read(gateway, signed.json()["output"][0]["valueReference"]["reference"], CLINIC)
    assert {"reference": f"Observation/{recording['id']}"} in report["result"]
    assert measured_figures(report["contained"][0])["8867-4"] == 98  # the device's rate


def test_an_amendment_adding_a_critical_finding_raises_it(gateway: Gateway, tmp_path: Path):
    task = recorded(gateway, order_ecg(gateway), tmp_path / "cart")
    assert step(gateway, task, "claim", "hexin").status_code == 200
    signed = step(gateway, task, "submit", "hexin", report=written("sinus-rhythm"))
    reference = signed.json()["output"][0]["valueReference"]["reference"]
    order = task["basedOn"][0]["reference"]
    assert told_about(gateway, order, "Organization/sj-sq", CLINIC) == []
    amend = f"/{reference}/$amend"
    unknown = call(gateway, "POST", amend, "zhaomin",
                   body=parameters(report=written("no-such-finding"), reason="复核"))  # fmt: skip
    assert unknown.status_code == 422
    given = parameters(report=written("av-block-3"), reason="复核为三度房室传导阻滞")
    amended = call(gateway, "POST", amend, "zhaomin", body=given)
    assert amended.status_code == 200, amended.text
    assert read(gateway, reference, CLINIC)["conclusion"] == "三度房室传导阻滞"
    alerts = told_about(gateway, order, "Organization/sj-sq", CLINIC)
    assert {a["payload"][0]["contentString"] for a in alerts} == {
        "报告已更正：复核为三度房室传导阻滞", "危急值：三度房室传导阻滞"}  # fmt: skip
