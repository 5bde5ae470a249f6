"""Orders in (基层检查、上级诊断): a township clinic's HIS orders a CT from the lead hospital's
imaging centre with a standard ServiceRequest; the centre's reading Task appears, owned by the
centre, due by the priority's turnaround, visible to the ordering clinic and to no other; the
order gets an accession number; a revoked order cancels its Task."""

from __future__ import annotations

from datetime import datetime

from tests.integration.dicomweb.conftest import Gateway
from tests.integration.fhir.test_rest import PATIENT, call
from tests.servers import drain_outbox

CLINIC = "his-tx-wsy"
CATEGORY = "http://yilian.example/fhir/CodeSystem/exam-category"


def place_order(gateway: Gateway, category: str = "imaging", priority: str = "stat") -> dict:
    patient = call(gateway, "POST", "/Patient", CLINIC, body=PATIENT).json()
    order = {
        "resourceType": "ServiceRequest", "status": "active", "intent": "order",
        "priority": priority,
        "identifier": [{"system": "urn:oid:2.16.156.10011.1.24", "value": "SQ20261202001"}],
        "category": [{"coding": [{"system": CATEGORY, "code": category}]}],
        "code": {"coding": [{"system": "urn:his:tx-wsy", "code": "CT-HEAD"}], "text": "头颅CT平扫"},
        "subject": {"reference": f"Patient/{patient['id']}"},
        "requester": {"reference": "Organization/tx-wsy"},
        "performer": [{"reference": "Organization/jhzx"}],
        "authoredOn": "2026-12-02T08:30:00+08:00",
    }  # fmt: skip
    placed = call(gateway, "POST", "/ServiceRequest", CLINIC, body=order)
    assert placed.status_code == 201, placed.text
    return placed.json()


def tasks_of(gateway: Gateway, order: dict, who: str = CLINIC) -> list[dict]:
    found = call(gateway, "GET", f"/Task?based-on=ServiceRequest/{order['id']}", who).json()
    return [e["resource"] for e in found.get("entry", [])]


def test_an_order_becomes_the_imaging_centres_task(gateway: Gateway):
    order = place_order(gateway)
    drain_outbox(gateway.node.platform)
    [task] = tasks_of(gateway, order)
    assert task["owner"]["reference"] == "HealthcareService/jhzx-imaging"
    assert task["for"] == order["subject"]
    assert task["focus"] == {"reference": f"ServiceRequest/{order['id']}"}
    assert (task["status"], task["businessStatus"]["text"]) == ("requested", "待检查")
    due = datetime.fromisoformat(task["restriction"]["period"]["end"])
    assert (due - datetime.fromisoformat(order["authoredOn"])).total_seconds() == 3600  # stat CT
    accession = call(gateway, "GET", f"/ServiceRequest/{order['id']}", CLINIC).json()
    [number] = [i for i in accession["identifier"] if i.get("type", {}).get("coding")]
    assert number["type"]["coding"][0]["code"] == "ACSN"
    assert len(number["value"]) <= 16  # a DICOM AccessionNumber (SH)
    assert tasks_of(gateway, order, "his-jhzx") == [task]  # the centre sees its work
    assert tasks_of(gateway, order, "his-cz-sq") == []  # another clinic does not


def test_the_task_is_made_once_and_a_revoked_order_cancels_it(gateway: Gateway):
    order = place_order(gateway, priority="routine")
    drain_outbox(gateway.node.platform)
    noted = {k: v for k, v in order.items() if k != "meta"} | {"note": [{"text": "患者行动不便"}]}
    current = call(gateway, "GET", f"/ServiceRequest/{order['id']}", CLINIC).json()
    noted["identifier"] = current["identifier"]  # keep the accession the centre gave it
    assert call(gateway, "PUT", f"/ServiceRequest/{order['id']}", CLINIC, body=noted).is_success
    drain_outbox(gateway.node.platform)
    [task] = tasks_of(gateway, order)
    revoked = noted | {"status": "revoked"}
    assert call(gateway, "PUT", f"/ServiceRequest/{order['id']}", CLINIC, body=revoked).is_success
    drain_outbox(gateway.node.platform)
    [cancelled] = tasks_of(gateway, order)
    assert cancelled["id"] == task["id"]
    assert (cancelled["status"], cancelled["businessStatus"]["text"]) == ("cancelled", "已取消")


def test_a_chest_pain_ecg_is_due_in_ten_minutes_and_a_lab_order_makes_no_reading_task(
    gateway: Gateway,
):
    ecg = place_order(gateway, category="ecg")
    lab = place_order(gateway, category="lab")
    drain_outbox(gateway.node.platform)
    [task] = tasks_of(gateway, ecg)
    assert task["owner"]["reference"] == "HealthcareService/jhzx-ecg"
    due = datetime.fromisoformat(task["restriction"]["period"]["end"])
    assert (due - datetime.fromisoformat(ecg["authoredOn"])).total_seconds() == 600
    assert tasks_of(gateway, lab) == []
