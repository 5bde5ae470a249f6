"""``GET /fhir/Patient/{id}/$everything``: the patient and every visible resource that refers to
them (``patient``/``subject`` parameters that target Patient), of the types the requester may
read."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from fhir_profiles.search_values import reference_targets
from fhir_profiles.validation import SUPPORTED_TYPES
from gateway.auth.routes import Auth
from gateway.fhir import interactions
from gateway.fhir.context import Fhir
from gateway.fhir.http import check_format, fhir_base, fhir_json
from gateway.fhir.operation import HL7, Operation, Param
from storage.fhir import StoredResource, referencing


def mount(api: APIRouter, fhir: Fhir) -> None:
    @api.get("/Patient/{patient_id}/$everything")
    async def everything(request: Request, requester: Auth, patient_id: str) -> Response:
        check_format(request)
        patient = await fhir.current(requester, "Patient", patient_id, "everything")

        def related(session: Session) -> list[StoredResource]:
            viewer = interactions.viewer_of(session, requester)
            found: list[StoredResource] = []
            for kind in SUPPORTED_TYPES:
                if not requester.scopes.allows(kind, "r"):
                    continue
                for code in ("patient", "subject"):
                    if "Patient" in reference_targets(kind, code):
                        found += referencing(session, kind, code, [f"Patient/{patient_id}"], viewer)
            return list({(r.resource_type, r.id): r for r in found}.values())

        found = await fhir.read_only(related)
        base = fhir_base(request)
        return fhir_json(
            {
                "resourceType": "Bundle",
                "type": "searchset",
                "total": 1 + len(found),
                "entry": [
                    {"fullUrl": f"{base}/{r.resource_type}/{r.id}", "resource": r.content}
                    for r in [patient, *found]
                ],
            }
        )


OPERATION = Operation(
    code="everything",
    title="Everything about a patient",
    description="The patient and every resource the requester may see that refers to them "
    "through a patient or subject reference.",
    resources=("Patient",),
    instance_level=True,
    base=f"{HL7}/Patient-everything",
    parameters=(Param("return", "out", "Bundle", "a searchset of the patient and the rest", 1),),
    mount=mount,
)
