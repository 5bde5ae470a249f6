"""What the patient index tests share: the members' HIS clients registering patients as each
member knows them (its own record number), and the index's answer."""

from __future__ import annotations

import itertools
from typing import Any

from storage.clinical.patient_matches import linked_patients, person_of
from storage.db import transaction
from storage.identity_numbers import HEALTH_CARD, ID_CARD
from tests.integration.dicomweb.conftest import Gateway
from tests.integration.fhir.test_rest import call
from tests.servers import drain_outbox

_records = itertools.count(1)


def registered(
    gateway: Gateway,
    who: str,
    name: str,
    birth: str,
    gender: str = "female",
    *,
    id_card: str | None = None,
    health_card: str | None = None,
    phone: str | None = None,
    address: str | None = None,
) -> dict[str, Any]:
    """A Patient as the member's HIS registers it, linked by the worker."""
    org = who.removeprefix("his-")
    identifiers = [{"system": f"urn:yilian:patient-id:{org}", "value": f"MR{next(_records):06d}"}]
    if id_card:
        identifiers.append({"system": ID_CARD, "value": id_card})
    if health_card:
        identifiers.append({"system": HEALTH_CARD, "value": health_card})
    patient: dict[str, Any] = {
        "resourceType": "Patient", "identifier": identifiers,
        "name": [{"use": "official", "text": name}], "gender": gender, "birthDate": birth,
    }  # fmt: skip
    if phone:
        patient["telecom"] = [{"system": "phone", "value": phone}]
    if address:
        patient["address"] = [{"text": address}]
    answer = call(gateway, "POST", "/Patient", who, body=patient)
    assert answer.status_code == 201, answer.text
    drain_outbox(gateway.node.platform)
    return answer.json()


def linked(gateway: Gateway, patient: dict[str, Any]) -> set[str]:
    with transaction(gateway.node.platform.sessions) as session:
        return linked_patients(session, patient["id"])


def person(gateway: Gateway, patient: dict[str, Any]) -> str | None:
    with transaction(gateway.node.platform.sessions) as session:
        return person_of(session, patient["id"])
