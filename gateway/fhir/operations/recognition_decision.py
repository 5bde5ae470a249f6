"""``POST /fhir/ServiceRequest/{id}/$recognition-decision``: the ordering doctor's decision
about one recognisable prior — 互认 (the order is revoked) or 不互认 with the reason — recorded
as a ``DetectedIssue`` (:mod:`gateway.workflow.recognition_decisions`); answers it, 201."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from gateway.auth.routes import Auth
from gateway.fhir import interactions, openapi
from gateway.fhir.context import Fhir
from gateway.fhir.http import body_bytes, parameter_values
from gateway.fhir.operation import Operation, Param
from gateway.fhir.own_orders import own_order
from gateway.transactions import json_answer
from gateway.workflow.recognition_decisions import REPEAT_REASONS, decide


def mount(api: APIRouter, fhir: Fhir) -> None:
    @api.post("/ServiceRequest/{order_id}/$recognition-decision",
              openapi_extra=openapi.PARAMETERS, status_code=201)  # fmt: skip
    async def recognition_decision(request: Request, requester: Auth, order_id: str) -> Response:
        interactions.authorize(requester, "DetectedIssue", "c")
        interactions.authorize(requester, "ServiceRequest", "u")
        given = parameter_values(await body_bytes(request))

        def work(session: Session) -> dict[str, Any]:
            issue = decide(session, requester, own_order(session, requester, order_id), given)
            interactions.audit_fhir(session, requester, "operation", "ServiceRequest",
                                    face="recognition-decision", id=order_id,
                                    included=[i["reference"] for i in issue["implicated"]],
                                    issue=issue["id"])  # fmt: skip
            return issue

        answered = await json_answer(fhir.platform, work)
        answered.status_code = 201
        return answered


OPERATION = Operation(
    code="recognition-decision",
    title="Recognise a prior result or repeat the examination (互认 / 不互认)",
    description="The ordering organization's decision about one prior that is recognisable for "
    "its open order, recorded as a DetectedIssue (implicated: the order and the prior).  "
    "'recognised' revokes the order; 'repeated' keeps it and names the reason.  The patient "
    "must have been told (explained = true).  409 when the prior is not recognisable for the "
    "order, the order is not open, or the decision is already recorded.",
    resources=("ServiceRequest",),
    instance_level=True,
    affects_state=True,
    parameters=(
        Param("prior", "in", "Reference", "the DiagnosticReport or Observation offered", 1),
        Param("decision", "in", "code", "recognised | repeated", 1),
        Param("reason", "in", "code", "why it is repeated: " + ", ".join(REPEAT_REASONS)),
        Param("reasonText", "in", "string", "in words (needed for 'other')"),
        Param("explained", "in", "boolean", "the decision was explained to the patient"),
        Param("return", "out", "DetectedIssue", "the decision as recorded", 1),
    ),
    mount=mount,
)
