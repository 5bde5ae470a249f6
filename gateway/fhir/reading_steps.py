"""The steps of remote reading as FHIR operations (``POST /fhir/Task/{id}/$claim`` …): one
shape for all of them — a ``Parameters`` body in, the rules of :mod:`gateway.workflow.reading`
in one transaction, the Task (or the amended report) back, every step audited.  Each
operation module of :mod:`gateway.fhir.operations` declares one step with :func:`step_operation`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
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
from gateway.workflow import reading
from storage.settings import Settings


@dataclass(frozen=True)
class Inputs:
    """The parameters of a step, by name: a string, a code or a resource."""

    values: dict[str, Any]
    settings: Settings

    def text(self, name: str) -> str:
        value = self.values.get(name)
        return value if isinstance(value, str) else ""

    def resource(self, name: str) -> dict[str, Any] | None:
        value = self.values.get(name)
        return value if isinstance(value, dict) else None


Step = Callable[[Session, Requester, reading.Work, Inputs], None]


def step_operation(
    code: str,
    title: str,
    description: str,
    step: Step,
    parameters: tuple[Param, ...] = (),
    *,
    on_report: bool = False,
) -> Operation:
    """The operation ``$code`` on a reading Task (``on_report``: on its DiagnosticReport, the
    report answered)."""
    resource = "DiagnosticReport" if on_report else "Task"

    def mount(api: APIRouter, fhir: Fhir) -> None:
        @api.post(f"/{resource}/{{resource_id}}/${code}", openapi_extra=openapi.PARAMETERS,
                  name=f"{resource}-{code}")  # fmt: skip
        async def perform(request: Request, requester: Auth, resource_id: str) -> Response:
            interactions.authorize(requester, resource, "u")
            inputs = Inputs(parameter_values(await body_bytes(request)), fhir.platform.settings)

            def work(session: Session) -> dict[str, Any]:
                task_id = reading.task_of_report(session, resource_id) if on_report else resource_id
                current = reading.load(session, task_id)
                current.critical_ack = timedelta(minutes=inputs.settings.critical_ack_minutes)
                if not interactions.sees(session, requester, current.task):
                    raise NotFound(f"{resource}/{resource_id} is not known")
                step(session, requester, current, inputs)
                stored = reading.save(session, current)
                interactions.audit_fhir(session, requester, code, "Task", id=task_id)
                answer = current.report if on_report else stored
                assert answer is not None
                return answer.content or {}

            return await json_answer(fhir.platform, work)

    answer = "DiagnosticReport" if on_report else "Task"
    return Operation(
        code=code, title=title, description=description, resources=(resource,),
        instance_level=True, affects_state=True,
        parameters=(*parameters, Param("return", "out", answer, f"the {answer} after the step", 1)),
        mount=mount,
    )  # fmt: skip
