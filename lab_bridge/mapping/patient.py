"""PID -> Patient: identifiers (the issuing member's patient ID, 身份证号), name, sex, birth
date (shared by ORU, ADT and order messages)."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from lab_bridge.errors import ContentError
from lab_bridge.mapping.drafts import Draft
from lab_bridge.mapping.values import date_time
from lab_bridge.parse import Segment
from storage.identity_numbers import HEALTH_CARD, ID_CARD

GENDER = {"M": "male", "F": "female", "O": "other", "A": "other", "U": "unknown"}


def patient_ids(organization: str) -> str:
    """The identifier system of one member's patient IDs (as the DICOM node files them)."""
    return f"urn:yilian:patient-id:{organization}"


def system_of(components: list[str], sender_org: str, known_orgs: set[str]) -> str:
    """CX ``id^^^authority^type``: 身份证号 (type ID/NNCHN), 居民健康卡 (HC), a member's own
    patient ID (authority = its organization id), else the sender's."""
    authority = components[3] if len(components) > 3 else ""
    kind = components[4] if len(components) > 4 else ""
    if kind in ("ID", "NNCHN") or authority in ("身份证", "ID"):
        return ID_CARD
    if kind == "HC" or authority in ("健康卡", "居民健康卡"):
        return HEALTH_CARD
    return patient_ids(authority if authority in known_orgs else sender_org)


def patient(
    pid: Segment, index: int, sender_org: str, known_orgs: set[str], zone: ZoneInfo
) -> Draft:
    where = f"PID[{index}]"
    identifiers = [
        {"system": system_of(r, sender_org, known_orgs), "value": r[0]}
        for r in pid.repetitions(3)
        if r[0]
    ]
    if not identifiers:
        raise ContentError(f"{where}-3", 101, "the patient has no identifier (PID-3)")
    resource: dict[str, Any] = {"resourceType": "Patient", "identifier": identifiers}
    family, given = pid.get(5, 1), pid.get(5, 2)
    if family or given:
        name: dict[str, Any] = {"text": f"{family}{given}"}
        if family and given:
            name |= {"family": family, "given": [given]}
        resource["name"] = [name]
    if sex := pid.get(8):
        if sex not in GENDER:
            raise ContentError(f"{where}-8", 103, f"{sex!r} is not a sex code (HL7 table 0001)")
        resource["gender"] = GENDER[sex]
    if born := pid.get(7):
        resource["birthDate"] = date_time(born[:8], zone, f"{where}-7")
    first = identifiers[0]
    return Draft(
        f"patient:{index}",
        resource,
        (first["system"], first["value"]),
        where,
        known_as=[(i["system"], i["value"]) for i in identifiers],
    )
