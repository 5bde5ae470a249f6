"""``GET /fhir/Patient/$ihe-pix?sourceIdentifier=system|value&targetSystem=…`` (IHE PIXm
ITI-83): the other members' identifiers of the patient one member knows by its identifier —
the records the patient index links to the same person (``MATCH``), those the requester may
see (the policy), their identifiers in the ``targetSystem``s asked (every one when none).

The identifier domains known here: 身份证号, 居民健康卡号 and each member's record numbers
(``urn:yilian:patient-id:{organization}``).  As ITI-83 says: an unknown source domain is 400
``code-invalid``, an unknown target domain 403 ``code-invalid``, an identifier nobody the
requester may see has is 404 ``not-found``; found, the answer is ``Parameters`` with a
``targetIdentifier`` per identifier and a ``targetId`` per Patient (none: an empty one).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.auth.routes import Auth
from gateway.errors import BadRequest
from gateway.fhir import interactions
from gateway.fhir.context import Fhir
from gateway.fhir.http import fhir_json
from gateway.fhir.imaging_study import patient_id_system
from gateway.fhir.operation import Operation, Param
from storage.clinical.patient_matches import linked_patients
from storage.fhir import all_by_identifier, read_many
from storage.identity_numbers import HEALTH_CARD, ID_CARD
from storage.models import Organization


def mount(api: APIRouter, fhir: Fhir) -> None:
    @api.get("/Patient/$ihe-pix")
    async def pix(
        requester: Auth,
        source_identifier: str = Query("", alias="sourceIdentifier"),
        target_system: list[str] = Query([], alias="targetSystem"),  # noqa: B008
    ) -> Response:
        interactions.authorize(requester, "Patient", "r")
        system, _, value = source_identifier.partition("|")
        if not system or not value:
            raise BadRequest("sourceIdentifier is system|value, e.g. " + ID_CARD + "|…")

        def work(session: Session) -> tuple[int, dict[str, Any]]:
            known = _domains(session)
            if system not in known:
                return 400, _outcome(
                    "code-invalid", "sourceIdentifier Assigning Authority not found"
                )
            if any(target not in known for target in target_system):
                return 403, _outcome("code-invalid", "targetSystem not found")
            viewer = interactions.viewer_of(session, requester)
            sources = all_by_identifier(session, "Patient", system, value, viewer)
            if not sources:
                interactions.audit_fhir(session, requester, "ihe-pix", "Patient", "not_found",
                                        identifier_system=system)  # fmt: skip
                return 404, _outcome("not-found", "sourceIdentifier Patient Identifier not found")
            ids = set().union(*(linked_patients(session, s.id) for s in sources))
            records = read_many(session, [f"Patient/{i}" for i in sorted(ids)], viewer)
            answered = [r.id for r in records]
            interactions.audit_fhir(
                session, requester, "ihe-pix", "Patient", identifier_system=system, ids=answered
            )
            return 200, _answer(records, (system, value), set(target_system))

        status, body = await fhir.read_only(work)
        return fhir_json(body, status)


def _domains(session: Session) -> set[str]:
    members = session.scalars(select(Organization.id))
    return {ID_CARD, HEALTH_CARD, *(patient_id_system(org) for org in members)}


def _answer(records: list[Any], source: tuple[str, str], targets: set[str]) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = []
    for record in records:
        for identifier in (record.content or {}).get("identifier") or []:
            key = (identifier.get("system"), identifier.get("value"))
            if key != source and (not targets or key[0] in targets) and all(key):
                found = {"system": key[0], "value": key[1]}
                parameters.append({"name": "targetIdentifier", "valueIdentifier": found})
        reference = {"reference": f"Patient/{record.id}"}
        parameters.append({"name": "targetId", "valueReference": reference})
    return {"resourceType": "Parameters", "parameter": parameters}


def _outcome(code: str, text: str) -> dict[str, Any]:
    return {"resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": code, "details": {"text": text},
                       "diagnostics": text}]}  # fmt: skip


OPERATION = Operation(
    code="ihe-pix",
    title="The members' identifiers of one patient (IHE PIXm)",
    description="Given one member's identifier of a patient, the identifiers and Patients of "
    "the records the patient index links to the same person, those the requester may see.",
    resources=("Patient",),
    type_level=True,
    parameters=(
        Param("sourceIdentifier", "in", "string", "system|value (a token) of the patient", 1),
        Param("targetSystem", "in", "uri", "the identifier domains wanted", 0, "*"),
        Param("targetIdentifier", "out", "Identifier", "an identifier found", 0, "*"),
        Param("targetId", "out", "Reference", "a Patient of the same person", 0, "*"),
    ),
    mount=mount,
)
