"""``GET /fhir/Specimen/{id}/$label``: a pathology specimen's label to print (标本条码标签),
50 × 30 mm SVG — the specimen number as Code 128 and in plain text, patient, sex and age, body
site and pieces, the sending hospital, the collection time (:mod:`gateway.workflow.specimen_label`).
Whoever may read the Specimen may print its label; the read is audited as ``label``."""

from __future__ import annotations

from fastapi import APIRouter, Response
from sqlalchemy.orm import Session

from gateway.auth.routes import Auth
from gateway.errors import BadRequest
from gateway.fhir.context import Fhir
from gateway.fhir.operation import Operation, Param
from gateway.workflow.specimen_label import label_of, label_svg
from storage.fhir import store as fhir_store
from storage.models import Organization

SVG = "image/svg+xml"


def mount(api: APIRouter, fhir: Fhir) -> None:
    @api.get("/Specimen/{specimen_id}/$label", response_class=Response)
    async def label(requester: Auth, specimen_id: str) -> Response:
        stored = await fhir.current(requester, "Specimen", specimen_id, "label")
        specimen = stored.content or {}
        if not (specimen.get("accessionIdentifier") or {}).get("value"):
            raise BadRequest(f"Specimen/{specimen_id} has no specimen number to print")

        def parts(session: Session) -> tuple[dict, str]:
            reference = str((specimen.get("subject") or {}).get("reference", ""))
            patient = None
            if reference.startswith("Patient/"):
                patient = fhir_store.read(session, "Patient", reference.split("/", 1)[1])
            sender = session.get(Organization, stored.owner_org_id or "")
            return (patient.content or {}) if patient else {}, sender.name if sender else ""

        patient, sender = await fhir.read_only(parts)
        svg = label_svg(label_of(specimen, patient, sender))
        return Response(svg.encode(), media_type=SVG)


OPERATION = Operation(
    code="label",
    title="Specimen label (标本条码标签)",
    description="The specimen's label to print, 50 × 30 mm SVG (one unit a millimetre): its "
    "number (accessionIdentifier) as a Code 128 bar code and in text, the patient's name, sex "
    "and age, body site and pieces, the sending hospital and the collection time.",
    resources=("Specimen",),
    instance_level=True,
    parameters=(Param("return", "out", "Binary", "the label, image/svg+xml", 1),),
    mount=mount,
)
