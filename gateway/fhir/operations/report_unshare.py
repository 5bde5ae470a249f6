"""``POST /fhir/DiagnosticReport/{id}/$unshare`` (``link``): the patient's link to the report
stops working at once."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from gateway.auth.routes import Auth
from gateway.errors import BadRequest, NotFound
from gateway.fhir import interactions, openapi
from gateway.fhir.context import Fhir
from gateway.fhir.http import body_bytes, parameter_values
from gateway.fhir.operation import Operation, Param
from gateway.patient_link import shareable
from gateway.transactions import json_answer
from storage.clinical import patient_links
from storage.fhir import instant


def mount(api: APIRouter, fhir: Fhir) -> None:
    @api.post("/DiagnosticReport/{report_id}/$unshare", openapi_extra=openapi.PARAMETERS)
    async def unshare(request: Request, requester: Auth, report_id: str) -> Response:
        interactions.authorize(requester, "DiagnosticReport", "r")
        body = await body_bytes(request)

        def work(session: Session) -> dict[str, Any]:
            shareable(session, requester, report_id)
            link = patient_links.revoke(session, _link(body), report_id)
            if link is None:
                raise NotFound("no such link to this report")
            interactions.audit_fhir(session, requester, "unshare", "DiagnosticReport",
                                    id=report_id, link=link.id)  # fmt: skip
            assert link.revoked_at is not None
            return {"resourceType": "Parameters", "parameter": [
                {"name": "revoked", "valueInstant": instant(link.revoked_at)}]}  # fmt: skip

        return await json_answer(fhir.platform, work)


def _link(body: bytes) -> str:
    link = parameter_values(body).get("link")
    if not isinstance(link, str):
        raise BadRequest("send a Parameters resource with link (valueString): the link's id")
    return link


OPERATION = Operation(
    code="unshare",
    title="Revoke a patient's link to a report (撤销云胶片)",
    description="The link given by $share stops working at once.",
    resources=("DiagnosticReport",),
    instance_level=True,
    affects_state=True,
    parameters=(
        Param("link", "in", "string", "the link's id, as $share answered it", 1),
        Param("revoked", "out", "instant", "when it stopped working", 1),
    ),
    mount=mount,
)
