"""``GET /fhir/Communication/{id}/$chain``: every step of a critical alert (raised, escalated,
acknowledged) with who, when and what."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.auth.routes import Auth
from gateway.errors import NotFound
from gateway.fhir import interactions
from gateway.fhir.context import Fhir
from gateway.fhir.operation import Operation
from gateway.transactions import json_read
from storage.clinical.critical_alerts import steps
from storage.fhir import instant
from storage.models import CriticalAlert, Organization, User
from storage.policy import visible_orgs


def mount(api: APIRouter, fhir: Fhir) -> None:
    @api.get("/Communication/{alert_id}/$chain")
    async def chain(requester: Auth, alert_id: str) -> Response:
        interactions.authorize(requester, "Communication", "r")

        def work(session: Session) -> dict[str, Any]:
            alert = session.get(CriticalAlert, alert_id)
            orgs = visible_orgs(session, requester.org_id)
            if alert is None or not {alert.source_org_id, alert.recipient_org_id} & orgs:
                raise NotFound(f"Communication/{alert_id} is not a critical alert known here")
            interactions.audit_fhir(session, requester, "read", "Communication", id=alert_id)
            found = steps(session, alert_id)
            orgs = dict(
                session.execute(
                    select(Organization.id, Organization.name).where(
                        Organization.id.in_({s.org_id for s in found})
                    )
                ).all()
            )
            people = dict(
                session.execute(
                    select(User.username, User.display_name).where(
                        User.username.in_({s.actor for s in found if s.actor})
                    )
                ).all()
            )
            return {
                "alert": alert_id, "state": alert.state, "level": alert.level,
                "summary": alert.summary, "raised": instant(alert.raised_at),
                "deadline": instant(alert.deadline_at),
                "steps": [
                    {"at": instant(s.at), "action": s.action, "organization": s.org_id,
                     "organizationName": orgs.get(s.org_id), "by": s.actor,
                     "byName": people.get(s.actor or "", s.actor), "text": s.text}
                    for s in found
                ],
            }  # fmt: skip

        return await json_read(fhir.platform, work)


OPERATION = Operation(
    code="chain",
    title="The chain of a critical alert (危急值闭环)",
    description="Every step of a critical alert — raised, escalated, acknowledged — with the "
    "organization, the person, the time and the text.",
    resources=("Communication",),
    instance_level=True,
    answer="alert, state, level, summary, raised, deadline, and steps (at, action, "
    "organization, organizationName, by, byName, text).",
    mount=mount,
)
