"""Figures over a period (critical alerts, lab turnaround): ``since``/``until`` dates, counted
for the organizations the requester sees (its own, and for the lead hospital its members')."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import Response
from sqlalchemy.orm import Session

from gateway.auth.tokens import Requester
from gateway.errors import BadRequest
from gateway.fhir import interactions
from gateway.transactions import json_answer
from storage.platform import Platform
from storage.policy import visible_orgs

Count = Callable[[Session, set[str], datetime, datetime], dict[str, Any]]


def period(since: str, until: str) -> tuple[datetime, datetime]:
    """``[since, until)``, dates (YYYY-MM-DD) read as UTC."""
    try:
        start, end = (datetime.fromisoformat(d).replace(tzinfo=UTC) for d in (since, until))
    except ValueError:
        raise BadRequest("since and until are dates (YYYY-MM-DD)") from None
    return start, end


async def figures_answer(
    platform: Platform,
    requester: Requester,
    resource_type: str,
    since: str,
    until: str,
    count: Count,
) -> Response:
    """``count`` for the period, once the requester may read ``resource_type``."""
    interactions.authorize(requester, resource_type, "r")
    start, end = period(since, until)

    def work(session: Session) -> dict[str, Any]:
        return count(session, visible_orgs(session, requester.org_id), start, end)

    return await json_answer(platform, work)
