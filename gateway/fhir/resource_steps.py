"""One shape for the operations that move a resource one step along its way (``POST
/fhir/Task/{id}/$accept``, ``POST /fhir/Specimen/{id}/$receive`` …): a ``Parameters`` body in,
the resource loaded with what its rules need, the step checked and done by those rules in one
transaction, the resource back, every step audited.  A resource the requester does not see is
not known (404).  :mod:`gateway.fhir.referral_steps` and :mod:`gateway.fhir.specimen_steps`
give the shape their rules."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

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
from storage.fhir import StoredResource

Loaded = TypeVar("Loaded")


@dataclass(frozen=True)
class Way(Generic[Loaded]):
    """How a resource type's steps load it (``load``), which stored resource a requester must
    see (``shown``; ``current``: its current version only) and how they keep it (``save``)."""

    resource_type: str
    load: Callable[[Session, str], Loaded]
    shown: Callable[[Loaded], Any]
    save: Callable[[Session, Loaded], StoredResource]
    current: bool = False


def text(values: dict[str, Any], name: str) -> str:
    value = values.get(name)
    return value if isinstance(value, str) else ""


def step_operation(
    way: Way[Loaded],
    code: str,
    title: str,
    description: str,
    step: Callable[[Session, Requester, Loaded, dict[str, Any]], None],
    parameters: tuple[Param, ...] = (),
) -> Operation:
    """The operation ``$code`` on a resource of ``way``, done by ``step``."""
    kind = way.resource_type

    def mount(api: APIRouter, fhir: Fhir) -> None:
        @api.post(f"/{kind}/{{resource_id}}/${code}", openapi_extra=openapi.PARAMETERS,
                  name=f"{kind}-{code}")  # fmt: skip
        async def perform(request: Request, requester: Auth, resource_id: str) -> Response:
            interactions.authorize(requester, kind, "u")
            values = parameter_values(await body_bytes(request))

            def work(session: Session) -> dict[str, Any]:
                loaded = way.load(session, resource_id)
                if not interactions.sees(session, requester, way.shown(loaded),
                                         current=way.current):  # fmt: skip
                    raise NotFound(f"{kind}/{resource_id} is not known")
                step(session, requester, loaded, values)
                stored = way.save(session, loaded)
                interactions.audit_fhir(session, requester, code, kind, id=resource_id)
                return stored.content or {}

            return await json_answer(fhir.platform, work)

    return Operation(
        code=code, title=title, description=description, resources=(kind,),
        instance_level=True, affects_state=True,
        parameters=(*parameters, Param("return", "out", kind, f"the {kind} after the step", 1)),
        mount=mount,
    )  # fmt: skip
