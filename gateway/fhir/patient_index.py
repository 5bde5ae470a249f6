"""What the patient index's operations share (``$match``, ``$ihe-pix`` and the ``$mdm-*``
review): the match grade of IHE PDQm, the reviewer's organizations (the policy's
:func:`~storage.policy.reviews_patient_links`), a link as HAPI FHIR MDM answers it, and the
actor of a person's decision."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from gateway.auth.tokens import Requester
from gateway.errors import BadRequest, Forbidden
from storage.clinical.patient_match_review import Link
from storage.clinical.patient_matches import Candidate
from storage.clinical.patient_scoring import CERTAIN
from storage.models import LinkSource, MatchGrade
from storage.policy import reviews_patient_links

MATCH_GRADE = "http://hl7.org/fhir/StructureDefinition/match-grade"
PROBABLE = 0.8


def match_grade(candidate: Candidate) -> str:
    """certain | probable | possible (IHE PDQm ITI-119; certainly-not is never answered)."""
    if candidate.source != LinkSource.SCORE or candidate.score >= CERTAIN:
        return "certain"
    return "probable" if candidate.score >= PROBABLE else "possible"


def reviewer_orgs(session: Session, requester: Requester) -> frozenset[str]:
    """The organizations whose patients' links the requester decides (403 when none)."""
    orgs = reviews_patient_links(session, requester.org_id, requester.roles)
    if not orgs:
        raise Forbidden("reviewing patient links needs an administrator or a head (负责人)")
    return orgs


def actor(requester: Requester) -> dict[str, Any]:
    """Who decided, as the access record and the link keep it."""
    return {"channel": "fhir", "actor": requester.subject, "actor_org_id": requester.org_id}


def patient_id(value: Any, name: str) -> str:
    """``Patient/{id}`` (or a bare id) given as ``name``."""
    text = value.get("reference") if isinstance(value, dict) else value
    if not isinstance(text, str) or not text.removeprefix("Patient/").strip():
        raise BadRequest(f"{name} names a Patient: Patient/{{id}}")
    found = text.removeprefix("Patient/").strip()
    if "/" in found:
        raise BadRequest(f"{name} names a Patient: Patient/{{id}}, not {text!r}")
    return found


def grade(value: Any, allowed: tuple[MatchGrade, ...]) -> MatchGrade:
    if value not in {g.value for g in allowed}:
        raise BadRequest(f"matchResult is one of {', '.join(g.value for g in allowed)}")
    return MatchGrade(value)


def link_parameter(link: Link) -> dict[str, Any]:
    """One ``link`` of ``$mdm-query-links`` (HAPI FHIR MDM's parts; ``linkSource`` AUTO or
    MANUAL, ``how`` the rule that made it)."""
    parts: list[dict[str, Any]] = [
        {"name": "goldenResourceId", "valueString": link.person_id},
        {"name": "sourceResourceId", "valueString": f"Patient/{link.patient_id}"},
        {"name": "matchResult", "valueString": link.grade},
        {"name": "linkSource", "valueString": "MANUAL" if link.source == "manual" else "AUTO"},
        {"name": "how", "valueString": link.source},
        {"name": "madeBy", "valueString": link.made_by},
        {"name": "madeAt", "valueDateTime": link.made_at.isoformat()},
    ]
    if link.org_id:
        parts.append({"name": "organization", "valueString": link.org_id})
    if link.score is not None:
        parts.append({"name": "score", "valueDecimal": round(link.score, 4)})
    return {"name": "link", "part": parts}
