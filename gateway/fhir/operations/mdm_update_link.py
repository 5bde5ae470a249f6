"""``POST /fhir/Patient/$mdm-update-link`` (HAPI FHIR MDM): a person decides whether a member's
Patient is a person (``goldenResourceId``) of the patient index — ``MATCH`` links it (a
possible match accepted, or a link made by hand), ``NO_MATCH`` turns a proposal down or unlinks
it (the Patient becomes a person of its own; never proposed again).  For an administrator or a
head (负责人), when the Patient's organization and one of the person's are theirs to decide
(:func:`storage.policy.reviews_patient_links`); audited (``mpi-link`` / ``mpi-unlink``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from gateway.auth.routes import Auth
from gateway.errors import BadRequest, NotFound
from gateway.fhir import interactions, openapi
from gateway.fhir.context import Fhir
from gateway.fhir.http import body_bytes, fhir_json, parameter_values
from gateway.fhir.operation import Operation, Param
from gateway.fhir.patient_index import actor, grade, patient_id, reviewer_orgs
from storage.clinical import patient_match_review as review
from storage.clinical.patient_matches import person_of
from storage.models import MatchGrade


def mount(api: APIRouter, fhir: Fhir) -> None:
    @api.post("/Patient/$mdm-update-link", openapi_extra=openapi.PARAMETERS)
    async def update_link(request: Request, requester: Auth) -> Response:
        interactions.authorize(requester, "Patient", "r")  # no resource is written
        values = parameter_values(await body_bytes(request))
        given = values.get("resourceId", values.get("sourceResourceId"))  # HAPI names both
        source = patient_id(given, "resourceId")
        person = values.get("goldenResourceId")
        if not isinstance(person, str) or not person.strip():
            raise BadRequest("goldenResourceId names the person (as $mdm-query-links gives it)")
        wanted = grade(values.get("matchResult"), (MatchGrade.MATCH, MatchGrade.NO_MATCH))

        def work(session: Session) -> dict[str, Any]:
            orgs = reviewer_orgs(session, requester)
            if review.org_of(session, source) not in orgs:
                raise NotFound(f"Patient/{source} is not in the patient index of your members")
            if not review.person_orgs(session, person) & orgs:
                raise NotFound(f"no person {person} among your members' patients")
            if wanted == MatchGrade.MATCH:
                review.confirm(session, source, person, actor(requester))
                now = person
            else:
                now = review.reject(session, source, person, actor(requester))
            return {"resourceType": "Parameters", "parameter": [
                {"name": "sourceResourceId", "valueString": f"Patient/{source}"},
                {"name": "goldenResourceId", "valueString": person_of(session, source) or now},
                {"name": "matchResult", "valueString": wanted.value},
            ]}  # fmt: skip

        return fhir_json(await fhir.write(work))


OPERATION = Operation(
    code="mdm-update-link",
    title="Link or unlink a patient and a person (HAPI FHIR MDM)",
    description="MATCH: the member's Patient is the person; NO_MATCH: it is not (a proposal "
    "turned down, or an unlink). Manual decisions win over the automatic linking; audited.",
    resources=("Patient",),
    type_level=True,
    affects_state=True,
    parameters=(
        Param("resourceId", "in", "string", "Patient/{id} (or as sourceResourceId)", 1),
        Param("goldenResourceId", "in", "string", "the person", 1),
        Param("matchResult", "in", "string", "MATCH | NO_MATCH", 1),
        Param("goldenResourceId", "out", "string", "the Patient's person now", 1),
    ),
    mount=mount,
)
