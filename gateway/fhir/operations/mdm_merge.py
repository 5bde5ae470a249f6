"""``POST /fhir/Patient/$mdm-merge-golden-resources`` (HAPI FHIR MDM): two persons of the
patient index are one — every Patient of ``fromGoldenResourceId`` becomes
``toGoldenResourceId``'s.  For an administrator or a head (负责人) who decides every member
involved (:func:`storage.policy.reviews_patient_links`); audited (``mpi-merge``)."""

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
from gateway.fhir.patient_index import actor, reviewer_orgs
from storage.clinical import patient_match_review as review


def mount(api: APIRouter, fhir: Fhir) -> None:
    @api.post("/Patient/$mdm-merge-golden-resources", openapi_extra=openapi.PARAMETERS)
    async def merge(request: Request, requester: Auth) -> Response:
        interactions.authorize(requester, "Patient", "r")  # no resource is written
        values = parameter_values(await body_bytes(request))
        persons = [values.get("fromGoldenResourceId"), values.get("toGoldenResourceId")]
        if not all(isinstance(p, str) and p.strip() for p in persons) or len(set(persons)) < 2:
            raise BadRequest("fromGoldenResourceId and toGoldenResourceId: two persons")
        source, target = (str(p) for p in persons)

        def work(session: Session) -> dict[str, Any]:
            orgs = reviewer_orgs(session, requester)
            for person in (source, target):
                involved = review.person_orgs(session, person)
                if not involved or not involved <= orgs:
                    raise NotFound(f"no person {person} whose members are all yours to decide")
            moved = review.merge(session, source, target, actor(requester))
            return {"resourceType": "Parameters", "parameter": [
                {"name": "goldenResourceId", "valueString": target},
                *({"name": "sourceResourceId", "valueString": f"Patient/{m}"}
                  for m in sorted(moved)),
            ]}  # fmt: skip

        return fhir_json(await fhir.write(work))


OPERATION = Operation(
    code="mdm-merge-golden-resources",
    title="Merge two persons of the patient index (HAPI FHIR MDM)",
    description="Every Patient of the first person becomes the second's; audited.",
    resources=("Patient",),
    type_level=True,
    affects_state=True,
    parameters=(
        Param("fromGoldenResourceId", "in", "string", "the person merged away", 1),
        Param("toGoldenResourceId", "in", "string", "the person kept", 1),
        Param("sourceResourceId", "out", "string", "a Patient moved", 0, "*"),
    ),
    mount=mount,
)
