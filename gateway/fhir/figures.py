"""Figures over a period (critical alerts, lab turnaround): ``GET /fhir/{type}/${code}`` with
``since``/``until`` dates, counted for the organizations the requester sees (its own, and for
the lead hospital its members')."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Response
from sqlalchemy.orm import Session

from gateway.auth.routes import Auth
from gateway.errors import BadRequest
from gateway.fhir import interactions
from gateway.fhir.context import Fhir
from gateway.fhir.operation import Operation, Param
from gateway.transactions import json_read
from storage.policy import visible_orgs

Count = Callable[[Session, set[str], datetime, datetime], dict[str, Any]]
# The parameters of an operation that counts over a period.
PERIOD = (
    Param("since", "in", "date", "the first day counted (YYYY-MM-DD; default: all)"),
    Param("until", "in", "date", "the day after the last one counted (default: all)"),
)


def period(since: str, until: str) -> tuple[datetime, datetime]:
    """``[since, until)``, dates (YYYY-MM-DD) read as UTC."""
    try:
        start, end = (datetime.fromisoformat(d).replace(tzinfo=UTC) for d in (since, until))
    except ValueError:
        raise BadRequest("since and until are dates (YYYY-MM-DD)") from None
    return start, end


def figures_operation(
    resource_type: str, code: str, title: str, description: str, answer: str, count: Count
) -> Operation:
    """A type-level operation that answers ``count`` for a period."""

    def mount(api: APIRouter, fhir: Fhir) -> None:
        mount_figures(api, fhir, resource_type, code, count)

    return Operation(
        code=code,
        title=title,
        description=description,
        resources=(resource_type,),
        type_level=True,
        parameters=PERIOD,
        answer=answer,
        mount=mount,
    )


def mount_figures(api: APIRouter, fhir: Fhir, resource_type: str, code: str, count: Count) -> None:
    """The route: ``count`` for the period, once the requester may read ``resource_type``."""

    @api.get(f"/{resource_type}/${code}", name=code)
    async def figures(
        requester: Auth, since: str = "1970-01-01", until: str = "9999-12-31"
    ) -> Response:
        interactions.authorize(requester, resource_type, "r")
        start, end = period(since, until)

        def work(session: Session) -> dict[str, Any]:
            return count(session, visible_orgs(session, requester.org_id), start, end)

        return await json_read(fhir.platform, work)
