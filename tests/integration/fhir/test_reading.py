"""Remote reading with two-level sign-off (报告两级审核), enforced by the server whichever way a
client asks: a clinic's CT order, its study pushed with the order's accession number (images
complete → 待阅片), a reader of the imaging centre claims and writes, a different senior reader
verifies; the clinic reads the final report.  And what must be refused."""

from __future__ import annotations

import base64
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import update

from gateway.study_publish import publish_stable_study
from storage.clinical import reading_milestones
from storage.db import transaction
from storage.models import Centre
from tests.dicom_data import Study, write_series
from tests.integration.dicomweb.conftest import Gateway, seed
from tests.integration.fhir.test_orders_in import CLINIC, place_order, tasks_of
from tests.integration.fhir.test_rest import call
from tests.servers import drain_outbox

FINDINGS = "http://yilian.example/fhir/StructureDefinition/report-findings"
REPORT = {
    "resourceType": "DiagnosticReport", "status": "preliminary",
    "code": {"text": "头颅CT平扫"},
    "extension": [{"url": FINDINGS, "valueString": "脑实质内未见异常密度影，脑室系统未见扩大。"}],
    "conclusion": "头颅CT平扫未见明显异常。",
}  # fmt: skip


DRAFT = "/DiagnosticReport/draft-1"


def parameters(**values: object) -> dict:
    given = []
    for name, value in values.items():
        key = "resource" if isinstance(value, dict) else "valueCode" if name in (
            "reason", "kind") else "valueString"  # fmt: skip
        given.append({"name": name, key: value})
    return {"resourceType": "Parameters", "parameter": given}


def step(gateway: Gateway, task: dict, code: str, who: str, **values: object):
    return call(gateway, "POST", f"/Task/{task['id']}/${code}", who, body=parameters(**values))


def read(gateway: Gateway, reference: str, who: str = CLINIC) -> dict:
    response = call(gateway, "GET", f"/{reference}", who)
    assert response.status_code == 200, response.text
    return response.json()


def told_about(gateway: Gateway, about: str, recipient: str, who: str = CLINIC) -> list[dict]:
    found = call(gateway, "GET", f"/Communication?recipient={recipient}", who).json()
    messages = [e["resource"] for e in found.get("entry", [])]
    return [m for m in messages if {"reference": about} in m.get("about", [])]


def pdf_text(form: dict, directory: Path) -> tuple[str, str]:
    """What ``pdftotext`` reads of an attached PDF, and what ``pdffonts`` lists."""
    assert form["contentType"] == "application/pdf"
    path = directory / "report.pdf"
    path.write_bytes(base64.b64decode(form["data"]))
    text = subprocess.run(["/usr/bin/pdftotext", "-layout", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout  # fmt: skip
    fonts = subprocess.run(["/usr/bin/pdffonts", str(path)], check=True,
                           capture_output=True, text=True).stdout  # fmt: skip
    return text.replace(" ", ""), fonts


def state(task: dict) -> tuple[str, str]:
    return task["status"], task["businessStatus"]["text"]


@pytest.fixture
def task(gateway: Gateway, tmp_path: Path) -> dict:
    """A stat head CT of 汤溪卫生院 whose images are complete: 待阅片 at the imaging centre."""
    return ready_task(gateway, tmp_path)


def ready_task(gateway: Gateway, tmp_path: Path) -> dict:
    """Order a stat head CT for a new patient of 汤溪卫生院, push its images: its Task, 待阅片."""
    order = place_order(gateway)
    drain_outbox(gateway.node.platform)
    [waiting] = tasks_of(gateway, order)
    assert state(waiting) == ("requested", "待检查")
    placed = read(gateway, f"ServiceRequest/{order['id']}")
    [accession] = [i["value"] for i in placed["identifier"] if "type" in i]
    study = Study(accession=accession, study_date="20261202", description="头颅CT平扫")
    seed(gateway, *write_series(study, tmp_path / "ct", 2, "CT"))
    publish_stable_study(gateway.node.platform, {"study_uid": study.study_uid, "org_id": "tx-wsy"})
    imaging = read(gateway, f"ImagingStudy/{study.study_uid}")
    assert imaging["basedOn"] == [{"reference": f"ServiceRequest/{order['id']}"}]
    assert imaging["subject"]["reference"] == order["subject"]["reference"]
    [ready] = tasks_of(gateway, order)
    assert state(ready) == ("ready", "待阅片")
    return ready


def test_a_reader_writes_a_different_senior_verifies_and_the_clinic_reads_it(
    gateway: Gateway, task: dict, tmp_path: Path
):
    claimed = step(gateway, task, "claim", "wanglei")
    assert claimed.status_code == 200, claimed.text
    assert state(claimed.json()) == ("in-progress", "阅片中")
    assert claimed.json()["owner"]["reference"] == "Practitioner/wanglei"
    assert step(gateway, task, "claim", "liuyang").status_code == 409  # one owner at a time

    submitted = step(gateway, task, "submit", "wanglei", report=REPORT)
    assert submitted.status_code == 200, submitted.text
    assert state(submitted.json()) == ("in-progress", "待审核")
    report_ref = submitted.json()["output"][0]["valueReference"]["reference"]
    preliminary = read(gateway, report_ref, "wanglei")
    assert preliminary["status"] == "preliminary"
    assert preliminary["performer"][0]["reference"] == "Practitioner/wanglei"
    assert preliminary["imagingStudy"]  # the report points at the images it reads

    refused = step(gateway, task, "verify", "wanglei")  # a reader without the senior role
    assert refused.status_code == 403
    assert "senior_reader" in refused.json()["issue"][0]["diagnostics"]

    verified = step(gateway, task, "verify", "zhaomin")
    assert verified.status_code == 200, verified.text
    assert state(verified.json()) == ("completed", "已发布")
    final = read(gateway, report_ref)  # the ordering clinic reads it
    assert final["status"] == "final"
    assert final["resultsInterpreter"] == [{"reference": "Practitioner/zhaomin", "display": "赵敏"}]
    assert final["conclusion"] == REPORT["conclusion"]
    # The order's local code says no modality; its images are a chest CT (BodyPartExamined
    # CHEST) of a centre qualified for CT: the report is recognisable, and marked so.
    assert final["meta"]["tag"][0]["code"] == "金HR"
    text, fonts = pdf_text(final["presentedForm"][0], tmp_path)
    for expected in ("金华市中心医院", "张三丰", "男", "检查所见", "脑室系统未见扩大", "诊断意见",
                     "报告医师：王磊", "审核医师：赵敏", "汤溪", "金HR"):  # fmt: skip
        assert expected in text, expected
    assert "NotoSansSC" in fonts
    assert " yes " in fonts.splitlines()[-1]  # embedded

    found = call(gateway, "GET", f"/Provenance?target={report_ref}", "zhaomin").json()
    signed = {e["resource"]["activity"]["coding"][0]["code"]: e["resource"] for e in found["entry"]}
    assert set(signed) == {"preliminary", "verified"}
    verifier = signed["verified"]
    assert verifier["agent"][0]["type"]["coding"][0]["code"] == "verifier"
    assert verifier["signature"][0]["who"]["reference"] == "Practitioner/zhaomin"
    assert {a["who"]["reference"] for a in verifier["agent"]} == {
        "Practitioner/zhaomin", "Practitioner/wanglei"}  # fmt: skip
    with transaction(gateway.node.platform.sessions) as session:
        row = reading_milestones.milestones(session, task["id"])
        assert row is not None
        stamps = (row.images_at, row.claimed_at, row.preliminary_at, row.verified_at)
        assert all(stamps)
        assert list(stamps) == sorted(stamps)
        assert (row.author, row.verifier) == ("wanglei", "zhaomin")


def test_the_author_cannot_verify_their_own_report(gateway: Gateway, task: dict):
    assert step(gateway, task, "claim", "chenjing").status_code == 200
    assert step(gateway, task, "submit", "chenjing", report=REPORT).status_code == 200
    own = step(gateway, task, "verify", "chenjing")
    assert own.status_code == 403
    assert "different senior reader" in own.json()["issue"][0]["diagnostics"]
    assert state(read(gateway, f"Task/{task['id']}")) == ("in-progress", "待审核")
    assert step(gateway, task, "verify", "zhaomin").status_code == 200


def test_a_centre_allowing_single_sign_off_lets_a_senior_sign_alone(gateway: Gateway, task: dict):
    with transaction(gateway.node.platform.sessions) as session:
        session.execute(update(Centre).where(Centre.id == "jhzx-imaging")
                        .values(single_sign_off=True))  # fmt: skip
    assert step(gateway, task, "claim", "chenjing").status_code == 200
    signed = step(gateway, task, "verify", "chenjing", report=REPORT)
    assert signed.status_code == 200, signed.text
    assert state(signed.json()) == ("completed", "已发布")


def test_people_outside_the_centre_cannot_claim(gateway: Gateway, task: dict):
    assert step(gateway, task, "claim", "zhouqiang").status_code in (403, 404)  # wcrm reader
    assert step(gateway, task, "claim", "jianghua").status_code in (403, 404)  # the clinician
    assert step(gateway, task, "claim", "his-jhzx").status_code == 403  # a system, not a person
    assert state(read(gateway, f"Task/{task['id']}")) == ("ready", "待阅片")


def test_plain_fhir_writes_go_through_the_same_steps(gateway: Gateway, task: dict):
    url = f"/Task/{task['id']}"
    mine = {k: v for k, v in task.items() if k != "meta"} | {
        "status": "in-progress", "owner": {"reference": "Practitioner/wanglei"}}  # fmt: skip
    claimed = call(gateway, "PUT", url, "wanglei", body=mine)
    assert claimed.status_code == 200, claimed.text
    assert state(claimed.json()) == ("in-progress", "阅片中")

    draft = REPORT | {"basedOn": [{"reference": task["basedOn"][0]["reference"]}],
                      "subject": task["for"], "id": "draft-1"}  # fmt: skip
    assert call(gateway, "PUT", DRAFT, "liuyang", body=draft).status_code == 403
    saved = call(gateway, "PUT", DRAFT, "wanglei", body=draft)
    assert saved.status_code in (200, 201), saved.text
    current = read(gateway, f"Task/{task['id']}", "wanglei")
    assert current["output"][0]["valueReference"]["reference"] == "DiagnosticReport/draft-1"

    early = draft | {"status": "final"}
    assert call(gateway, "PUT", DRAFT, "wanglei", body=early).status_code == 403
    assert call(gateway, "PUT", DRAFT, "zhaomin", body=early).status_code == 409
    done = {k: v for k, v in current.items() if k != "meta"} | {"status": "completed"}
    assert call(gateway, "PUT", url, "wanglei", body=done).status_code == 403  # not a senior
    assert call(gateway, "PUT", url, "zhaomin", body=done).status_code == 409  # not submitted
    submit = {k: v for k, v in current.items() if k != "meta"} | {"businessStatus": {
        "coding": [{"system": "http://yilian.example/fhir/CodeSystem/reading-status",
                    "code": "awaiting-verification"}]}}  # fmt: skip
    assert call(gateway, "PUT", url, "wanglei", body=submit).status_code == 200
    signed = read(gateway, "DiagnosticReport/draft-1", "zhaomin")
    by_self = {k: v for k, v in signed.items() if k != "meta"} | {"status": "final"}
    assert call(gateway, "PUT", DRAFT, "wanglei", body=by_self).status_code == 403
    verified = call(gateway, "PUT", DRAFT, "zhaomin", body=by_self)
    assert verified.status_code == 200, verified.text
    assert verified.json()["resultsInterpreter"][0]["reference"] == "Practitioner/zhaomin"
    assert state(read(gateway, f"Task/{task['id']}")) == ("completed", "已发布")
    forged = {k: v for k, v in task.items() if k != "meta"} | {"id": "forged"}
    assert call(gateway, "PUT", "/Task/forged", "wanglei", body=forged).status_code == 403


def test_sent_back_to_the_author_then_returned_and_amended(gateway: Gateway, task: dict):
    assert step(gateway, task, "claim", "wanglei").status_code == 200
    assert step(gateway, task, "submit", "wanglei", report=REPORT).status_code == 200
    assert step(gateway, task, "send-back", "zhaomin").status_code == 422  # say why
    back = step(gateway, task, "send-back", "zhaomin", comment="请补充描述基底节区。")
    assert back.status_code == 200, back.text
    assert state(back.json()) == ("in-progress", "阅片中")
    assert back.json()["owner"]["reference"] == "Practitioner/wanglei"
    assert "补充描述基底节区" in back.json()["note"][-1]["text"]
    assert step(gateway, task, "submit", "wanglei").status_code == 200  # the saved report again
    assert step(gateway, task, "verify", "zhaomin").status_code == 200
    report_ref = read(gateway, f"Task/{task['id']}")["output"][0]["valueReference"]["reference"]
    report_id = report_ref.split("/")[1]

    amend_url = f"/DiagnosticReport/{report_id}/$amend"
    changed = REPORT | {"conclusion": "左侧基底节区腔隙性梗塞。"}
    no_reason = call(gateway, "POST", amend_url, "zhaomin", body=parameters(report=changed))
    assert no_reason.status_code == 422
    plain = read(gateway, report_ref) | {"status": "amended"}
    assert call(gateway, "PUT", f"/{report_ref}", "zhaomin", body=plain).status_code == 422
    amended = call(gateway, "POST", amend_url, "zhaomin",
                   body=parameters(report=changed, reason="漏诊腔隙灶"))  # fmt: skip
    assert amended.status_code == 200, amended.text
    assert (amended.json()["status"], amended.json()["conclusion"]) == (
        "amended", "左侧基底节区腔隙性梗塞。")  # fmt: skip
    [told] = told_about(gateway, report_ref, "Organization/tx-wsy")
    assert "漏诊腔隙灶" in told["payload"][0]["contentString"]


def test_the_centre_returns_an_examination_to_the_clinic(gateway: Gateway, task: dict):
    assert step(gateway, task, "return", "wanglei", reason="made-up").status_code == 422
    returned = step(gateway, task, "return", "wanglei", reason="image-quality", text="运动伪影")
    assert returned.status_code == 200, returned.text
    seen = read(gateway, f"Task/{task['id']}")  # the clinic sees why
    assert state(seen) == ("rejected", "已退回")
    assert seen["statusReason"]["text"] == "图像质量不合格：运动伪影"
    assert step(gateway, task, "claim", "wanglei").status_code == 409


def test_overdue_work_escalates_to_the_centres_head_once(gateway: Gateway, task: dict):
    """The stat CT was ordered at 08:30 Beijing time, due in 60 minutes: long overdue."""
    drain_outbox(gateway.node.platform)
    [alert] = told_about(gateway, f"Task/{task['id']}", "Practitioner/lihua", "lihua")
    assert {"reference": "Practitioner/lihua", "display": "李华"} in alert["recipient"]
    assert "超时" in alert["payload"][0]["contentString"]
    assert "超时上报" in read(gateway, f"Task/{task['id']}", "wanglei")["note"][-1]["text"]
    with transaction(gateway.node.platform.sessions) as session:
        row = reading_milestones.milestones(session, task["id"])
        assert row is not None
        assert row.escalated_at is not None
    drain_outbox(gateway.node.platform)
    assert len(told_about(gateway, f"Task/{task['id']}", "Practitioner/lihua", "lihua")) == 1


def test_turnaround_of_the_order_and_the_centres_figures(gateway: Gateway, task: dict):
    for code, who in (("claim", "wanglei"), ("submit", "wanglei"), ("verify", "chenjing")):
        given = {"report": REPORT} if code == "submit" else {}
        assert step(gateway, task, code, who, **given).status_code == 200
    order = task["basedOn"][0]["reference"]
    clock = call(gateway, "GET", f"/{order}/$turnaround", CLINIC).json()
    assert clock["task"] == f"Task/{task['id']}"
    assert clock["stage"] == "verified"
    assert list(clock["milestones"]) == [
        "ordered", "images-complete", "claimed", "preliminary", "verified"]  # fmt: skip
    assert (clock["author"], clock["verifier"]) == ("wanglei", "chenjing")
    assert clock["onTime"] is False  # ordered at 08:30, due at 09:30 Beijing time
    assert clock["minutes"]["imagesToReport"] is not None
    assert call(gateway, "GET", f"/{order}/$turnaround", "his-cz-sq").status_code == 404

    figures = call(gateway, "GET", "/Task/$reading-figures", "his-jhzx").json()
    overall = figures["all"]["all"]
    assert (overall["tasks"], overall["verified"], overall["onTimeRate"]) == (1, 1, 0.0)
    assert figures["priority"]["stat"]["tasks"] == 1
    assert figures["centre"]["jhzx-imaging"]["intervals"]["reading"]["count"] == 1
    other = call(gateway, "GET", "/Task/$reading-figures", "his-cz-sq").json()
    assert other["all"]["all"]["tasks"] == 0  # another clinic counts only its own orders


def test_a_critical_finding_is_read_back_or_escalates(gateway: Gateway, task: dict):
    """The chain of lab critical values: the clinic reads back; unanswered, it escalates."""
    gateway.node.platform.settings.critical_ack_minutes = 3 / 60
    assert step(gateway, task, "claim", "wanglei").status_code == 200
    assert step(gateway, task, "critical", "liuyang", finding="x").status_code == 409  # not his
    raised = step(gateway, task, "critical", "wanglei", finding="左侧大量气胸")
    assert raised.status_code == 200, raised.text
    [alert] = told_about(gateway, task["basedOn"][0]["reference"], "Organization/tx-wsy")
    assert alert["payload"][0]["contentString"] == "危急值：左侧大量气胸"
    chain = f"/Communication/{alert['id']}/$chain"
    drain_outbox(gateway.node.platform)
    assert call(gateway, "GET", chain, CLINIC).json()["level"] == 0
    time.sleep(3.5)
    drain_outbox(gateway.node.platform)
    steps = call(gateway, "GET", chain, CLINIC).json()["steps"]
    assert [(s["action"], s["organization"]) for s in steps][:2] == [
        ("raised", "tx-wsy"), ("escalated", "tx-wsy")]  # fmt: skip
    [listed] = call(gateway, "GET", "/Communication/$critical-inbox", CLINIC).json()["alerts"]
    assert (listed["id"], listed["kind"], listed["level"]) == (alert["id"], "imaging", 1)
    assert listed["raisedBy"] == {"username": "wanglei", "name": "王磊"}
    assert listed["summary"] == "左侧大量气胸"
    assert listed["result"] is None  # a finding, not a lab result
    wrong = call(gateway, "POST", f"/Communication/{alert['id']}/$acknowledge", "jianghua",
                 body=parameters(readBack="右侧少量气胸"))  # fmt: skip
    assert wrong.status_code == 422
    assert "复述不符" in wrong.json()["issue"][0]["diagnostics"]
    read_back = parameters(readBack="左侧大量气胸，已收到")
    done = call(gateway, "POST", f"/Communication/{alert['id']}/$acknowledge", "jianghua",
                body=read_back)  # fmt: skip
    assert done.status_code == 200, done.text
    assert call(gateway, "GET", chain, CLINIC).json()["state"] == "acknowledged"


def test_the_centres_report_templates_are_data_of_the_alliance_file(gateway: Gateway):
    url = "/HealthcareService/jhzx-imaging/$report-templates?modality=CT&body_part=HEAD"
    found = call(gateway, "GET", url, "wanglei").json()["templates"]
    assert [t["name"] for t in found] == ["头颅CT平扫（未见异常）"]
    assert found[0]["impression"] == "头颅CT平扫未见明显异常。"
    every = call(gateway, "GET", "/HealthcareService/jhzx-imaging/$report-templates", "wanglei")
    assert len(every.json()["templates"]) == 4
    missing = call(gateway, "GET", "/HealthcareService/nowhere/$report-templates", "wanglei")
    assert missing.status_code == 404
