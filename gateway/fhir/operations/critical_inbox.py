"""``GET /fhir/Communication/$critical-inbox?state=open|acknowledged``: the critical alerts the
requester's organization must act on (危急值待确认) — those it received, and those it raised once
escalated back to it — newest first, each with what is read out: the summary, the patient and
the result (as the requester may see them), who raised it, when, its deadline and level; once
acknowledged, who confirmed, when and what was read back.  One audit record names them all."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.auth.routes import Auth
from gateway.errors import BadRequest
from gateway.fhir import interactions
from gateway.fhir.context import Fhir
from gateway.fhir.operation import Operation, Param
from gateway.transactions import json_read
from storage.clinical.critical_alerts import inbox, raisers
from storage.fhir import instant, read_many
from storage.models import AlertState, CriticalAlert, Organization, User

LIMIT = 200


def mount(api: APIRouter, fhir: Fhir) -> None:
    @api.get("/Communication/$critical-inbox")
    async def critical_inbox(requester: Auth, state: str = AlertState.OPEN) -> Response:
        interactions.authorize(requester, "Communication", "r")
        if state not in set(AlertState):
            raise BadRequest(f"state is one of {', '.join(AlertState)}, not {state!r}")

        def work(session: Session) -> dict[str, Any]:
            alerts = inbox(session, requester.org_id, AlertState(state), LIMIT)
            viewer = interactions.viewer_of(session, requester)
            targets = {a.subject for a in alerts if a.subject} | {a.about for a in alerts}
            seen = {
                f"{r.resource_type}/{r.id}": r.content
                for r in read_many(session, sorted(targets), viewer)
            }
            by = raisers(session, [a.id for a in alerts])
            usernames = {*by.values(), *(a.acknowledged_by for a in alerts if a.acknowledged_by)}
            people = dict(
                session.execute(
                    select(User.username, User.display_name).where(User.username.in_(usernames))
                ).all()
            )
            sources = {a.source_org_id for a in alerts}
            orgs = dict(
                session.execute(
                    select(Organization.id, Organization.name).where(Organization.id.in_(sources))
                ).all()
            )
            interactions.audit_fhir(
                session, requester, "search-type", "Communication", face="critical-inbox",
                ids=[a.id for a in alerts], included=sorted(seen),
            )  # fmt: skip
            return {"alerts": [_entry(a, seen, by, people, orgs) for a in alerts]}

        return await json_read(fhir.platform, work)


def _entry(
    alert: CriticalAlert,
    seen: dict[str, Any],
    by: dict[str, str],
    people: dict[str, str],
    orgs: dict[str, str],
) -> dict[str, Any]:
    raiser = by.get(alert.id)
    acker = alert.acknowledged_by
    return {
        "id": alert.id, "kind": alert.kind, "state": alert.state, "level": alert.level,
        "summary": alert.summary, "raised": instant(alert.raised_at),
        "deadline": instant(alert.deadline_at),
        "source": {"id": alert.source_org_id, "name": orgs.get(alert.source_org_id)},
        "raisedBy": {"username": raiser, "name": people.get(raiser, raiser)} if raiser else None,
        "patient": seen.get(alert.subject or ""),
        "result": seen.get(alert.about) if alert.about.startswith("Observation/") else None,
        "acknowledged": instant(alert.acknowledged_at) if alert.acknowledged_at else None,
        "acknowledgedBy": {"username": acker, "name": people.get(acker, acker)} if acker else None,
        "readBack": alert.read_back,
    }  # fmt: skip


OPERATION = Operation(
    code="critical-inbox",
    title="Critical alerts to act on (危急值待确认)",
    description="The critical alerts the requester's organization received (or raised and got "
    "back by escalation), open or acknowledged, newest first, with the patient and the result "
    "as the requester may see them.",
    resources=("Communication",),
    type_level=True,
    parameters=(Param("state", "in", "code", "open (default) or acknowledged"),),
    answer="alerts: id, kind, state, level, summary, raised, deadline, source (id, name), "
    "raisedBy, patient (Patient), result (Observation), acknowledged, acknowledgedBy, readBack.",
    mount=mount,
)
