"""What the referral tests (FHIR and browser) set up: a township clinic's patient with a
身份证号 and two reports (a lab panel with its result, a chest X-ray), the lead hospital's own
record of the same person, and referrals as a clinic's HIS sends them."""

from __future__ import annotations

import itertools
from typing import Any

from gateway.fhir.storing import store
from storage.db import transaction
from storage.fhir import new_id
from storage.identity_numbers import ID_CARD
from tests.integration.dicomweb.conftest import Gateway
from tests.integration.fhir.test_rest import call

CLINIC = "his-tx-wsy"
LEAD = "his-jhzx"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
DIRECTION = "http://yilian.example/fhir/CodeSystem/referral-direction"
_numbers = itertools.count(1)


def created(gateway: Gateway, who: str, resource: dict[str, Any]) -> dict[str, Any]:
    answer = call(gateway, "POST", f"/{resource['resourceType']}", who, body=resource)
    assert answer.status_code == 201, answer.text
    return answer.json()


def patient(gateway: Gateway, who: str = CLINIC, number: str | None = None) -> dict[str, Any]:
    """张三丰 as ``who`` registered him, with his 身份证号."""
    number = number or f"33070219800101{next(_numbers):04d}"
    return created(gateway, who, {
        "resourceType": "Patient",
        "identifier": [{"system": ID_CARD, "value": number},
                       {"system": f"urn:yilian:patient-id:{who}", "value": f"P{number[-6:]}"}],
        "name": [{"text": "张三丰", "family": "张", "given": ["三丰"]}],
        "gender": "male", "birthDate": "1980-01-01",
    })  # fmt: skip


def kept(gateway: Gateway, org: str, resource: dict[str, Any]) -> dict[str, Any]:
    """A resource as the organization's own systems keep it (its LIS, its PACS: the clinic's
    HIS client may only read reports)."""
    with transaction(gateway.node.platform.sessions) as session:
        return store(session, {**resource, "id": new_id()}, org).content or {}


def reports(gateway: Gateway, subject: dict[str, Any], org: str = "tx-wsy") -> list[dict[str, Any]]:
    """A troponin result in its lab report, and a chest X-ray report, of the clinic's own."""
    about = {"reference": f"Patient/{subject['id']}"}
    troponin = kept(gateway, org, {
        "resourceType": "Observation", "status": "final",
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "laboratory"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "10839-9"}],
                 "text": "肌钙蛋白I"},
        "subject": about, "effectiveDateTime": "2026-12-02T08:10:00+08:00",
        "valueQuantity": {"value": 2.3, "unit": "ng/mL"},
    })  # fmt: skip
    lab = kept(gateway, org, {
        "resourceType": "DiagnosticReport", "status": "final", "code": {"text": "心肌标志物"},
        "subject": about, "effectiveDateTime": "2026-12-02T08:10:00+08:00",
        "result": [{"reference": f"Observation/{troponin['id']}"}],
    })  # fmt: skip
    xray = kept(gateway, org, {
        "resourceType": "DiagnosticReport", "status": "final", "code": {"text": "胸部正位片"},
        "subject": about, "effectiveDateTime": "2026-12-02T08:20:00+08:00",
        "conclusion": "两肺纹理增多",
    })  # fmt: skip
    return [lab, xray]


def referral(
    subject: dict[str, Any],
    receiver: str,
    direction: str = "up",
    priority: str = "urgent",
    documents: list[dict[str, Any]] = (),  # type: ignore[assignment]
    reason: str = "急性胸痛，肌钙蛋白升高，疑急性心肌梗死",
    department: str = "心血管内科",
    referrer: str = "tx-wsy",
) -> dict[str, Any]:
    return {
        "resourceType": "ServiceRequest", "status": "active", "intent": "order",
        "priority": priority,
        "category": [
            {"coding": [{"system": "http://snomed.info/sct", "code": "3457005",
                         "display": "Patient referral"}]},
            {"coding": [{"system": DIRECTION, "code": direction}]},
        ],
        "code": {"text": "转诊"},
        "subject": {"reference": f"Patient/{subject['id']}"},
        "requester": {"reference": f"Organization/{referrer}"},
        "performer": [{"reference": f"Organization/{receiver}"}],
        "performerType": {"text": department},
        "reasonCode": [{"text": reason}],
        "authoredOn": "2026-12-02T09:00:00+08:00",
    } | ({"supportingInfo": [{"reference": f"{d['resourceType']}/{d['id']}"}
                             for d in documents]} if documents else {})  # fmt: skip


def refer(gateway: Gateway, body: dict[str, Any], who: str = CLINIC) -> tuple[dict, dict]:
    """The referral as stored and the receiver's Task the server made for it."""
    placed = created(gateway, who, body)
    found = call(gateway, "GET", f"/Task?based-on=ServiceRequest/{placed['id']}", who).json()
    [task] = [e["resource"] for e in found.get("entry", [])]
    return placed, task
