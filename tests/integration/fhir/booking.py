"""What the booking tests share: the lead hospital publishing CT slots, a clinic's order, and a
booking, all as plain FHIR over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import httpx

from tests.integration.dicomweb.conftest import Gateway
from tests.integration.fhir.test_orders_in import CATEGORY
from tests.integration.fhir.test_rest import PATIENT, call

LEAD = "his-jhzx"
CLINIC = "his-tx-wsy"
DCM = "http://dicom.nema.org/resources/ontology/DCM"
POOL = "http://yilian.example/fhir/CodeSystem/booking-pool"
MEMBERS = {"coding": [{"system": POOL, "code": "members", "display": "医联体预留号源"}]}
BEIJING = timezone(timedelta(hours=8))


def publish(gateway: Gateway, count: int, *, members: bool = True, day: int = 3) -> list[dict]:
    """The imaging centre's CT schedule and ``count`` 15-minute slots from 08:00 Beijing time,
    ``day`` days from now (each call a new schedule)."""
    schedule = {
        "resourceType": "Schedule", "active": True,
        "serviceType": [{"coding": [{"system": DCM, "code": "CT", "display": "CT"}],
                         "text": "CT 检查"}],
        "actor": [{"reference": "HealthcareService/jhzx-imaging"}],
        "comment": "影像中心 CT1 号机",
    }  # fmt: skip
    made = call(gateway, "POST", "/Schedule", LEAD, body=schedule)
    assert made.status_code == 201, made.text
    today = datetime.now(BEIJING).replace(hour=8, minute=0, second=0, microsecond=0)
    start = today + timedelta(days=day)
    slots = []
    for n in range(count):
        begins = start + timedelta(minutes=15 * n)
        slot = {
            "resourceType": "Slot", "status": "free",
            "schedule": {"reference": f"Schedule/{made.json()['id']}"},
            "serviceType": schedule["serviceType"],
            "start": begins.isoformat(),
            "end": (begins + timedelta(minutes=15)).isoformat(),
        }  # fmt: skip
        if members:
            slot["serviceCategory"] = [MEMBERS]
        posted = call(gateway, "POST", "/Slot", LEAD, body=slot)
        assert posted.status_code == 201, posted.text
        slots.append(posted.json())
    return slots


def order(gateway: Gateway, who: str = CLINIC) -> dict:
    """A clinic's CT order for a new patient of its own."""
    patient = call(gateway, "POST", "/Patient", who, body=PATIENT).json()
    request = {
        "resourceType": "ServiceRequest", "status": "active", "intent": "order",
        "category": [{"coding": [{"system": CATEGORY, "code": "imaging"}]}],
        "code": {"coding": [{"system": "urn:his:ct", "code": "CT-CHEST"}], "text": "胸部CT平扫"},
        "subject": {"reference": f"Patient/{patient['id']}"},
        "requester": {"reference": f"Organization/{who.removeprefix('his-')}"},
        "performer": [{"reference": "HealthcareService/jhzx-imaging"}],
        "authoredOn": datetime.now(UTC).isoformat(),
    }  # fmt: skip
    placed = call(gateway, "POST", "/ServiceRequest", who, body=request)
    assert placed.status_code == 201, placed.text
    return placed.json()


def appointment(slot: dict, request: dict) -> dict:
    return {
        "resourceType": "Appointment", "status": "booked",
        "start": slot["start"], "end": slot["end"],
        "slot": [{"reference": f"Slot/{slot['id']}"}],
        "basedOn": [{"reference": f"ServiceRequest/{request['id']}"}],
        "participant": [{"actor": request["subject"], "status": "accepted"}],
        "description": "胸部CT平扫 预约",
    }  # fmt: skip


def book(gateway: Gateway, slot: dict, request: dict, who: str = CLINIC) -> httpx.Response:
    return call(gateway, "POST", "/Appointment", who, body=appointment(slot, request))


def current(gateway: Gateway, reference: str, who: str = LEAD) -> dict:
    answer = call(gateway, "GET", f"/{reference}", who)
    assert answer.status_code == 200, answer.text
    return answer.json()


def changed(gateway: Gateway, resource: dict, who: str = CLINIC, **values) -> httpx.Response:
    body = {k: v for k, v in resource.items() if k != "meta"} | values
    return call(gateway, "PUT", f"/Appointment/{resource['id']}", who, body=body)
