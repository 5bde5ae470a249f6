"""基层检查、上级诊断, end to end with the real protocols: a township clinic's HIS orders a head CT
with a FHIR client library; the clinic's CT finds it with DCMTK ``findscu -W``, records the
exam with MPPS and pushes the images with DCMTK ``storescu`` under the order's accession number;
a reader of the lead hospital claims and writes, a different senior reader verifies; the
clinic's rest-hook endpoint is told and fetches report and PDF; the patient's link opens."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from fhirpy import SyncFHIRClient
from pydicom.uid import generate_uid
from pynetdicom.sop_class import ModalityPerformedProcedureStep as MPPS

from gateway.study_publish import publish_stable_study
from storage.clinical import reading_milestones
from storage.db import transaction
from tests.dicom_data import Patient, Study, write_series
from tests.integration.dicomweb.conftest import Gateway
from tests.integration.fhir.test_reading import REPORT, parameters, pdf_text, step
from tests.integration.fhir.test_rest import call
from tests.integration.fhir.test_subscriptions import Receiver, subscribe
from tests.integration.worklist.orders import CATEGORY, DCM, HIS, PATIENT, findscu_worklist
from tests.integration.worklist.test_mpps import _associate, _ended, _in_progress
from tests.servers import drain_outbox

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "reading"
STEPS = ("ordered_at", "exam_started_at", "exam_ended_at", "images_at", "claimed_at",
         "preliminary_at", "verified_at", "delivered_at")  # fmt: skip


def test_a_clinics_ct_is_read_remotely_signed_twice_and_delivered(
    gateway: Gateway, receiver: Receiver, tmp_path: Path
):
    his = SyncFHIRClient(f"{gateway.url}/fhir", authorization=f"Bearer {gateway.token(HIS)}")
    patient = his.resource("Patient", **{k: v for k, v in PATIENT.items() if k != "resourceType"})
    patient.save()
    order = his.resource(
        "ServiceRequest", status="active", intent="order", priority="stat",
        category=[{"coding": [{"system": CATEGORY, "code": "imaging"}]}],
        code={"coding": [{"system": DCM, "code": "CT"}], "text": "头颅CT平扫"},
        subject={"reference": f"Patient/{patient.id}"},
        requester={"reference": "Organization/tx-wsy"},
        performer=[{"reference": "Organization/jhzx"}],
        authoredOn="2026-12-02T09:00:00+08:00", occurrenceDateTime="2026-12-02T09:30:00+08:00",
    )  # fmt: skip
    order.save()
    subscribe(gateway, HIS, f"http://127.0.0.1:{receiver.server_port}/his/reports")
    drain_outbox(gateway.node.platform)

    _, [item] = findscu_worklist(gateway, tmp_path / "mwl", "PatientID=TX000777")
    number, study_uid = str(item.AccessionNumber), str(item.StudyInstanceUID)
    assoc = _associate(gateway)
    step_uid = generate_uid()
    started = _in_progress(number)
    started.ScheduledStepAttributesSequence[0].StudyInstanceUID = study_uid
    assert assoc.send_n_create(started, MPPS, step_uid)[0].Status == 0
    assert assoc.send_n_set(_ended(), MPPS, step_uid)[0].Status == 0
    assoc.release()

    study = Study(patient=Patient(patient_id="TX000777", name=str(item.PatientName)),
                  study_uid=study_uid, accession=number, study_date="20261202")  # fmt: skip
    assert gateway.node.storescu(*write_series(study, tmp_path / "ct", 3)).returncode == 0
    publish_stable_study(gateway.node.platform, {"study_uid": study_uid, "org_id": "tx-wsy"})
    drain_outbox(gateway.node.platform)

    [task] = his.resources("Task").search(**{"based-on": f"ServiceRequest/{order.id}"}).fetch()
    assert task["businessStatus"]["text"] == "待阅片"
    task = dict(task.serialize())
    assert step(gateway, task, "claim", "wanglei").status_code == 200
    assert step(gateway, task, "submit", "wanglei", report=REPORT).status_code == 200
    assert step(gateway, task, "verify", "wanglei").status_code == 403  # not a senior reader
    assert step(gateway, task, "verify", "zhaomin").status_code == 200
    drain_outbox(gateway.node.platform)

    [told] = [json.loads(body) for _, _, body in receiver.received]
    report = his.reference("DiagnosticReport", told["id"]).to_resource()
    assert (report["status"], report["resultsInterpreter"][0]["display"]) == ("final", "赵敏")
    text, _ = pdf_text(report["presentedForm"][0], tmp_path)
    assert "张三丰" in text
    assert "头颅CT平扫未见明显异常" in text
    shared = call(gateway, "POST", f"/DiagnosticReport/{report.id}/$share", HIS,
                  body=parameters(days=7))  # fmt: skip
    url = {p["name"]: p for p in shared.json()["parameter"]}["url"]["valueUrl"]
    assert "赵敏" in httpx.get(url).text

    with transaction(gateway.node.platform.sessions) as session:
        row = reading_milestones.milestones(session, task["id"])
        assert row is not None
        moments = [getattr(row, name) for name in STEPS]
    assert all(moments), dict(zip(STEPS, moments, strict=True))
    assert moments == sorted(moments)  # each step after the one before
    ARTIFACTS.mkdir(parents=True, exist_ok=True)  # the run's clock, for people to read
    (ARTIFACTS / "milestones.txt").write_text("step            UTC\n" + "".join(
        f"{name.removesuffix('_at'):<16}{moment:%Y-%m-%d %H:%M:%S.%f}"[:-3] + "\n"
        for name, moment in zip(STEPS, moments, strict=True)))  # fmt: skip
