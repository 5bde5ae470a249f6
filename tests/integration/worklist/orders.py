"""Orders as a clinic's HIS places them (a ServiceRequest over FHIR, then the worker gives the
accession number and the reading Task), for the worklist and MPPS tests."""

from __future__ import annotations

from pathlib import Path

import pydicom
from pydicom.dataset import Dataset

from tests.integration.dicom.conftest import CLINIC_AE
from tests.integration.dicomweb.conftest import Gateway
from tests.integration.fhir.test_rest import call
from tests.servers import drain_outbox

HIS = "his-tx-wsy"
CATEGORY = "http://yilian.example/fhir/CodeSystem/exam-category"
DCM = "http://dicom.nema.org/resources/ontology/DCM"
PATIENT = {
    "resourceType": "Patient",
    "identifier": [{"system": "urn:yilian:patient-id:tx-wsy", "value": "TX000777"}],
    "name": [{"use": "official", "text": "张三丰", "family": "张", "given": ["三丰"]}],
    "gender": "male",
    "birthDate": "1958-04-09",
}


def place_order(gateway: Gateway, when: str = "2026-12-02T09:30:00+08:00") -> dict:
    """A CT order of 汤溪卫生院 for 张三丰, scheduled ``when``; returned as stored after the
    worker ran (with its accession number)."""
    patient = call(gateway, "POST", "/Patient", HIS, body=PATIENT).json()
    placed = call(
        gateway, "POST", "/ServiceRequest", HIS, body=_order(f"Patient/{patient['id']}", when)
    )
    assert placed.status_code == 201, placed.text
    drain_outbox(gateway.node.platform)
    return call(gateway, "GET", f"/ServiceRequest/{placed.json()['id']}", HIS).json()


def place_orders(gateway: Gateway, count: int, when: str = "2026-12-02T09:30:00+08:00") -> None:
    """``count`` such orders for one patient, in one transaction Bundle, the worker run after."""
    entries = [{"fullUrl": "urn:uuid:patient", "resource": PATIENT,
                "request": {"method": "POST", "url": "Patient"}}]  # fmt: skip
    entries += [
        {"resource": _order("urn:uuid:patient", when),
         "request": {"method": "POST", "url": "ServiceRequest"}}
        for _ in range(count)
    ]  # fmt: skip
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
    posted = call(gateway, "POST", "", HIS, body=bundle)
    assert posted.status_code == 200, posted.text
    drain_outbox(gateway.node.platform)


def _order(subject: str, when: str) -> dict:
    return {
        "resourceType": "ServiceRequest", "status": "active", "intent": "order",
        "priority": "routine",
        "category": [{"coding": [{"system": CATEGORY, "code": "imaging"}]}],
        "code": {"coding": [{"system": "urn:his:tx-wsy", "code": "CT-HEAD"},
                            {"system": DCM, "code": "CT"}], "text": "头颅CT平扫"},
        "subject": {"reference": subject},
        "requester": {"reference": "Organization/tx-wsy", "display": "李四"},
        "performer": [{"reference": "Organization/jhzx"}],
        "occurrenceDateTime": when,
        "authoredOn": "2026-12-01T16:00:00+08:00",
    }  # fmt: skip


def accession(order: dict) -> str:
    [number] = [i["value"] for i in order["identifier"] if i.get("type", {}).get("coding")]
    return number


STEP = "ScheduledProcedureStepSequence[0]"
KEYS = (
    "(0008,0005)=ISO_IR 192", "PatientName", "PatientID", "PatientBirthDate", "PatientSex",
    "AccessionNumber", "RequestedProcedureID", "RequestedProcedureDescription",
    "StudyInstanceUID", "ReferringPhysicianName", f"{STEP}.ScheduledStationAETitle",
    f"{STEP}.ScheduledProcedureStepStartDate", f"{STEP}.ScheduledProcedureStepStartTime",
    f"{STEP}.Modality", f"{STEP}.ScheduledProcedureStepID",
    f"{STEP}.ScheduledProcedureStepDescription", f"{STEP}.ScheduledPerformingPhysicianName",
)  # fmt: skip


def findscu_worklist(
    gateway: Gateway, out: Path, *keys: str, calling: str = CLINIC_AE
) -> tuple[int, list[Dataset]]:
    """DCMTK ``findscu -W`` with the usual keys (``keys`` set some of them); its exit code and
    the responses it extracted."""
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("rsp*.dcm"):
        old.unlink()
    given = {k.split("=", 1)[0] for k in keys}
    asked = [k for k in KEYS if k.split("=", 1)[0] not in given] + list(keys)
    arguments = [argument for key in asked for argument in ("-k", key)]
    done = gateway.node.dcmtk("findscu", "-W", "-X", "-od", str(out), *arguments, calling=calling)
    answers = [pydicom.dcmread(path) for path in sorted(out.glob("rsp*.dcm"))]
    return done.returncode, answers
