"""The steps of a pathology specimen's way as FHIR operations (``POST
/fhir/Specimen/{id}/$send`` …): a ``Parameters`` body in, the rules of
:mod:`gateway.workflow.specimens` in one transaction, the Specimen back, every step audited.
Each operation module of :mod:`gateway.fhir.operations` declares one step with
:func:`specimen_operation`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from gateway.auth.routes import Auth
from gateway.auth.tokens import Requester
from gateway.errors import NotFound
from gateway.fhir import interactions, openapi
from gateway.fhir.context import Fhir
from gateway.fhir.http import body_bytes, parameter_values
from gateway.fhir.operation import Operation, Param
from gateway.transactions import json_answer
from gateway.workflow import specimens

Step = Callable[[Session, Requester, specimens.Shipment, dict[str, Any]], None]


def specimen_operation(
    code: str, title: str, description: str, step: Step, parameters: tuple[Param, ...] = ()
) -> Operation:
    def mount(api: APIRouter, fhir: Fhir) -> None:
        @api.post(f"/Specimen/{{specimen_id}}/${code}", openapi_extra=openapi.PARAMETERS,
                  name=f"Specimen-{code}")  # fmt: skip
        async def perform(request: Request, requester: Auth, specimen_id: str) -> Response:
            interactions.authorize(requester, "Specimen", "u")
            values = parameter_values(await body_bytes(request))

            def work(session: Session) -> dict[str, Any]:
                shipment = specimens.load(session, specimen_id)
                if not interactions.sees(session, requester, shipment.specimen, current=True):
                    raise NotFound(f"Specimen/{specimen_id} is not known")
                step(session, requester, shipment, values)
                stored = specimens.save(session, shipment)
                interactions.audit_fhir(session, requester, code, "Specimen", id=specimen_id)
                return stored.content or {}

            return await json_answer(fhir.platform, work)

    return Operation(
        code=code, title=title, description=description, resources=("Specimen",),
        instance_level=True, affects_state=True,
        parameters=(*parameters, Param("return", "out", "Specimen", "the Specimen after the step",
                                       1)),
        mount=mount,
    )  # fmt: skip
