"""``GET /fhir/HealthcareService/{id}/$report-templates?modality=&body-part=``: a shared
centre's report templates (报告模板) — kept as data in the alliance file — for a modality and
body part (templates for any modality or body part included), for the reading page."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from sqlalchemy.orm import Session

from gateway.auth.routes import Auth
from gateway.errors import NotFound
from gateway.fhir import interactions
from gateway.fhir.context import Fhir
from gateway.fhir.operation import Operation, Param
from gateway.transactions import json_answer
from storage.models import Centre


def mount(api: APIRouter, fhir: Fhir) -> None:
    @api.get("/HealthcareService/{centre_id}/$report-templates")
    async def templates(
        requester: Auth, centre_id: str, modality: str = "", body_part: str = ""
    ) -> Response:
        interactions.authorize(requester, "HealthcareService", "r")

        def work(session: Session) -> dict[str, Any]:
            centre = session.get(Centre, centre_id)
            if centre is None:
                raise NotFound(f"HealthcareService/{centre_id} is not a centre known here")
            wanted = (modality.upper(), body_part.upper())
            found = [t for t in centre.report_templates or []
                     if t.get("modality") in (None, wanted[0]) or not wanted[0]
                     if t.get("body_part") in (None, wanted[1]) or not wanted[1]]  # fmt: skip
            return {"centre": f"HealthcareService/{centre_id}", "templates": found}

        return await json_answer(fhir.platform, work)


OPERATION = Operation(
    code="report-templates",
    title="Report templates of a centre (报告模板)",
    description="The centre's report templates for a modality and body part (those for any "
    "modality or body part too), as its alliance file keeps them.",
    resources=("HealthcareService",),
    instance_level=True,
    parameters=(
        Param("modality", "in", "code", "DICOM modality (CT, MR, DX, US…)"),
        Param("body_part", "in", "string", "DICOM BodyPartExamined (HEAD, CHEST…)"),
    ),
    answer="centre, templates (name, modality, body_part, findings, impression).",
    mount=mount,
)
