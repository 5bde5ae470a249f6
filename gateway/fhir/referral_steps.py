"""The steps of a referral as FHIR operations (``POST /fhir/Task/{id}/$accept`` …): a
``Parameters`` body in, the rules of :mod:`gateway.workflow.referrals` in one transaction, the
Task back, every step audited.  Each operation module of :mod:`gateway.fhir.operations`
declares one step with :func:`referral_operation`."""

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
from gateway.workflow import referrals

Step = Callable[[Session, Requester, referrals.Work, dict[str, Any]], None]


def text(values: dict[str, Any], name: str) -> str:
    value = values.get(name)
    return value if isinstance(value, str) else ""


def referral_operation(
    code: str, title: str, description: str, step: Step, parameters: tuple[Param, ...] = ()
) -> Operation:
    """The operation ``$code`` on a referral Task."""

    def mount(api: APIRouter, fhir: Fhir) -> None:
        @api.post(f"/Task/{{task_id}}/${code}", openapi_extra=openapi.PARAMETERS,
                  name=f"Task-{code}")  # fmt: skip
        async def perform(request: Request, requester: Auth, task_id: str) -> Response:
            interactions.authorize(requester, "Task", "u")
            values = parameter_values(await body_bytes(request))

            def work(session: Session) -> dict[str, Any]:
                current = referrals.load(session, task_id)
                if not interactions.sees(session, requester, current.task):
                    raise NotFound(f"Task/{task_id} is not known")
                step(session, requester, current, values)
                stored = referrals.save(session, current)
                interactions.audit_fhir(session, requester, code, "Task", id=task_id)
                return stored.content or {}

            return await json_answer(fhir.platform, work)

    return Operation(
        code=code, title=title, description=description, resources=("Task",),
        instance_level=True, affects_state=True,
        parameters=(*parameters, Param("return", "out", "Task", "the Task after the step", 1)),
        mount=mount,
    )  # fmt: skip
