"""Operations views for administrators.

- ``GET /admin/dead-events``: the outbox events that gave up (topic, attempts, last error,
  payload), and ``POST /admin/dead-events/{id}/$replay`` to queue one again (202) — for the
  administrators of an alliance's lead hospital, who run the shared machinery.
- ``GET /admin/audit-records``: the access log, by ``patient`` (a FHIR Patient id: who looked at
  this patient's data), ``user`` (the actor: a user name, client id or AE title),
  ``organization`` (the actor's), ``since`` / ``until`` (an ISO date or date-time; a bare date
  or time is China time, ``until`` a date includes that day), ``limit`` and ``offset``.  The
  records of actors of the organizations the administrator manages.  Every search is itself
  recorded (one by patient shows in that patient's trail).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from fastapi import APIRouter, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from gateway.admin.access import RowId, administrator, audit_admin, json_response, operator
from gateway.auth.routes import Auth
from gateway.errors import BadRequest, NotFound
from gateway.routing import PrefixRouter
from gateway.transactions import run_in_transaction
from storage.audit import AuditQuery, find_records, records_about
from storage.fhir import instant
from storage.models import AuditRecord, OutboxEvent
from storage.outbox import dead_events, replay_dead
from storage.platform import Platform

CHINA = timezone(timedelta(hours=8))


def _moment(name: str, text: str | None, end_of_day: bool = False) -> datetime | None:
    if not text:
        return None
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = datetime.combine(day + timedelta(days=end_of_day), time(), CHINA)
            return moment - timedelta(microseconds=1) if end_of_day else moment
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise BadRequest(f"{name}: {text!r} is not a date (2026-12-01) or date-time") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=CHINA)


def _bounded(name: str, value: int, high: int) -> int:
    if not 0 <= value <= high:
        raise BadRequest(f"{name} is between 0 and {high}")
    return value


def _event(event: OutboxEvent) -> dict[str, Any]:
    return {
        "id": event.id, "topic": event.topic, "attempts": event.attempts,
        "created": instant(event.created_at), "updated": instant(event.updated_at),
        "error": event.last_error, "payload": event.payload,
    }  # fmt: skip


def _record(row: AuditRecord) -> dict[str, Any]:
    return {
        "id": row.id, "recorded": instant(row.recorded_at), "channel": row.channel,
        "actor": row.actor, "organization": row.actor_org_id, "action": row.action,
        "outcome": row.outcome, "entities": row.entities or {},
    }  # fmt: skip


def router(platform: Platform) -> APIRouter:
    api = PrefixRouter(prefix="/admin", tags=["administration"])

    async def run(work: Any) -> Any:
        return await run_in_threadpool(run_in_transaction, platform, work)

    @api.get("/dead-events")
    async def dead(requester: Auth, limit: int = 100) -> Response:
        def work(session: Session) -> list[dict[str, Any]]:
            operator(session, requester)
            return [_event(e) for e in dead_events(session, _bounded("limit", limit, 1000))]

        return json_response(await run(work))

    @api.post("/dead-events/{event_id}/$replay", status_code=202)
    async def replay(requester: Auth, event_id: RowId) -> Response:
        def work(session: Session) -> None:
            operator(session, requester)
            if not replay_dead(session, event_id):
                raise NotFound(f"no dead event {event_id}")
            audit_admin(session, requester, "replay", outbox_event=event_id)

        await run(work)
        return json_response({"replay": event_id, "status": "queued"}, 202)

    @api.get("/audit-records")
    async def audit_search(
        requester: Auth,
        patient: str | None = None,
        user: str | None = None,
        organization: str | None = None,
        since: str | None = None,
        until: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> Response:
        query_since, query_until = _moment("since", since), _moment("until", until, True)
        size, start = _bounded("limit", limit, 500), _bounded("offset", offset, 100_000)

        def work(session: Session) -> dict[str, Any]:
            admin = administrator(session, requester)
            query = AuditQuery(
                orgs=admin.orgs, since=query_since, until=query_until,
                actor_org=organization or None, actor=user or None, limit=size, offset=start,
            )  # fmt: skip
            filters = {"user": user, "organization": organization, "since": since,
                       "until": until}  # fmt: skip
            searched = {k: v for k, v in filters.items() if v}
            if not patient:
                found = find_records(session, query)
                audit_admin(session, requester, "audit-search", **searched)
                return {"records": [_record(r) for r in found], "complete": True}
            trail = records_about(session, query, patient)
            audit_admin(
                session, requester, "audit-search", resource_type="Patient", id=patient, **searched
            )
            return {"records": [_record(r) for r in trail.records], "complete": trail.scanned_all}

        return json_response(await run(work))

    return api
