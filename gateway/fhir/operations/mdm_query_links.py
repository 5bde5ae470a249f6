"""``GET /fhir/Patient/$mdm-query-links?matchResult=POSSIBLE_MATCH``: the patient index's links
for review, as HAPI FHIR MDM's operation of the same name answers them — by default the review
queue (``POSSIBLE_MATCH``: proposals never merged silently), newest first, for an
administrator or a head (负责人) and only of the organizations the policy lets them decide
(:func:`storage.policy.reviews_patient_links`).  ``goldenResourceId`` keeps one person's."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Response
from sqlalchemy.orm import Session

from gateway.auth.routes import Auth
from gateway.errors import BadRequest
from gateway.fhir import interactions
from gateway.fhir.context import Fhir
from gateway.fhir.http import fhir_json, whole_number
from gateway.fhir.operation import Operation, Param
from gateway.fhir.patient_index import grade, link_parameter, reviewer_orgs
from storage.clinical.patient_match_review import query_links
from storage.models import MatchGrade

DEFAULT_COUNT, MOST = 100, 1000


def mount(api: APIRouter, fhir: Fhir) -> None:
    @api.get("/Patient/$mdm-query-links")
    async def links(
        requester: Auth,
        match_result: str = Query(MatchGrade.POSSIBLE_MATCH.value, alias="matchResult"),
        golden: str | None = Query(None, alias="goldenResourceId"),
        count: str = Query(str(DEFAULT_COUNT), alias="_count"),
    ) -> Response:
        interactions.authorize(requester, "Patient", "r")
        wanted = grade(match_result, tuple(MatchGrade))
        most = whole_number(count, MOST)
        if not most:
            raise BadRequest(f"_count is a whole number from 1 to {MOST}")

        def work(session: Session) -> dict[str, Any]:
            orgs = reviewer_orgs(session, requester)
            found = query_links(session, orgs, wanted, person_id=golden, count=most)
            interactions.audit_fhir(session, requester, "mdm-query-links", "Patient",
                                    ids=sorted({lk.patient_id for lk in found}))  # fmt: skip
            return {"resourceType": "Parameters", "parameter": [link_parameter(lk) for lk in found]}

        return fhir_json(await fhir.read_only(work))


OPERATION = Operation(
    code="mdm-query-links",
    title="The patient index's links for review (HAPI FHIR MDM)",
    description="Links of the members' Patients to persons, by default the POSSIBLE_MATCH "
    "review queue, for an administrator or head and the organizations they decide.",
    resources=("Patient",),
    type_level=True,
    parameters=(
        Param("matchResult", "in", "string", "MATCH | POSSIBLE_MATCH | NO_MATCH"),
        Param("goldenResourceId", "in", "string", "one person's links"),
        Param(
            "link",
            "out",
            "string",
            "goldenResourceId, sourceResourceId, matchResult, "
            "linkSource, how, score, organization, madeBy, madeAt (parts)",
            0,
            "*",
        ),
    ),
    mount=mount,
)
