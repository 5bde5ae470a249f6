"""``POST /fhir/Patient/$match`` (IHE PDQm ITI-119, FHIR's patient match): which members'
Patients may be the person the given ``Patient`` describes, as the patient index scores them
(:func:`storage.clinical.patient_matches.candidates`: the same 身份证号 or 居民健康卡号 is
certain; the rest scored on name, pinyin, birth date, sex, phone, address).

The answer is a ``searchset`` Bundle, the surest first, each entry with ``search.mode`` match,
``search.score`` 0–1 and the ``match-grade`` extension (certain | probable | possible); only
the Patients the requester may see (the policy); ``onlyCertainMatches`` keeps the certain ones,
``count`` caps them.  Nothing is written but the access record naming what was answered.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from fhir_profiles.validation import validate
from gateway.auth.routes import Auth
from gateway.errors import BadRequest, Unprocessable
from gateway.fhir import interactions, openapi
from gateway.fhir.context import Fhir
from gateway.fhir.http import body_bytes, fhir_base, fhir_json, parameter_values
from gateway.fhir.operation import Operation, Param
from gateway.fhir.patient_index import MATCH_GRADE, match_grade
from storage.clinical.patient_features import features
from storage.clinical.patient_matches import candidates
from storage.fhir import read_many

DEFAULT_COUNT, MOST = 10, 100


def mount(api: APIRouter, fhir: Fhir) -> None:
    @api.post("/Patient/$match", openapi_extra=openapi.PARAMETERS)
    async def match(request: Request, requester: Auth) -> Response:
        interactions.authorize(requester, "Patient", "r")
        patient, only_certain, count = _asked(parameter_values(await body_bytes(request)))
        base = fhir_base(request)

        def work(session: Session) -> dict[str, Any]:
            viewer = interactions.viewer_of(session, requester)
            found = candidates(session, features(patient))
            if only_certain:
                found = [c for c in found if match_grade(c) == "certain"]
            seen = {
                r.id: r.content
                for r in read_many(session, [f"Patient/{c.patient_id}" for c in found], viewer)
            }
            answered = [c for c in found if c.patient_id in seen][:count]
            interactions.audit_fhir(session, requester, "match", "Patient",
                                    ids=[c.patient_id for c in answered])  # fmt: skip
            return {
                "resourceType": "Bundle", "type": "searchset", "total": len(answered),
                "entry": [
                    {"fullUrl": f"{base}/Patient/{c.patient_id}", "resource": seen[c.patient_id],
                     "search": {"mode": "match", "score": round(c.score, 4), "extension": [
                         {"url": MATCH_GRADE, "valueCode": match_grade(c)}]}}
                    for c in answered
                ],
            }  # fmt: skip

        return fhir_json(await fhir.read_only(work))


def _asked(values: dict[str, Any]) -> tuple[dict[str, Any], bool, int]:
    patient = values.get("resource")
    if not isinstance(patient, dict) or patient.get("resourceType") != "Patient":
        raise BadRequest("resource: the Patient to match is required")
    problems = validate(patient, "Patient", [])  # R4's structure: a partial Patient is fine
    if problems:
        raise Unprocessable("resource is not a valid Patient",
                            [(p.expression, p.message) for p in problems])  # fmt: skip
    only_certain = values.get("onlyCertainMatches", False)
    if not isinstance(only_certain, bool):
        raise BadRequest("onlyCertainMatches is a boolean (valueBoolean)")
    count = values.get("count", DEFAULT_COUNT)
    if isinstance(count, bool) or not isinstance(count, int) or not 0 < count <= MOST:
        raise BadRequest(f"count is a whole number from 1 to {MOST} (valueInteger)")
    return patient, only_certain, count


OPERATION = Operation(
    code="match",
    title="Find the members' records of a patient (IHE PDQm $match)",
    description="Scores the members' Patients against the given one with the patient index "
    "(身份证号 / 居民健康卡号 certain; name with its pinyin, birth date, sex, phone, address "
    "scored) and answers those the requester may see, with search.score and match-grade.",
    resources=("Patient",),
    type_level=True,
    parameters=(
        Param("resource", "in", "Patient", "the patient to match (need not be stored)", 1),
        Param("onlyCertainMatches", "in", "boolean", "only the certain matches"),
        Param("count", "in", "integer", f"at most this many (default {DEFAULT_COUNT})"),
        Param("return", "out", "Bundle", "searchset: score and match-grade per entry", 1),
    ),
    base="http://hl7.org/fhir/OperationDefinition/Patient-match",
    mount=mount,
)
