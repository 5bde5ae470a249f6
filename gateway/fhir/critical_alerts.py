"""Critical alerts (危急值 and critical findings) at the FHIR API and in the worker.

- ``POST /fhir/Communication/{id}/$acknowledge`` (Parameters ``readBack``: what the receiver
  read back): the receiving organization confirms; the alert Communication becomes
  ``completed`` with its ``received`` time, and a Communication ``inResponseTo`` it carries the
  read-back, from the person who confirmed, to the centre that raised it.
- ``GET /fhir/Communication/{id}/$chain``: every step (raised, escalated, acknowledged) with
  who, when and what.
- ``GET /fhir/Communication/$critical-figures?since=&until=``: raised, acknowledged, on time,
  escalated, open, median minutes to acknowledge, and the timeliness rate, for the alerts the
  requester's organization raised or received (and, for the lead hospital, its members').
- ``critical.deadline`` (worker): an alert still open at its deadline escalates, and its
  Communication says so (a note, and the new recipient).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from gateway.auth.routes import Auth
from gateway.errors import BadRequest, Forbidden, NotFound
from gateway.fhir import interactions
from gateway.fhir.figures import figures_answer
from gateway.transactions import json_answer
from storage.clinical.critical_alerts import (
    AlertError,
    acknowledge,
    escalate,
    escalated_to,
    figures,
    steps,
)
from storage.db import transaction
from storage.fhir import instant, new_id
from storage.fhir import store as fhir_store
from storage.json_codec import loads
from storage.models import CriticalAlert
from storage.platform import Platform
from storage.policy import visible_orgs
from storage.registry import heads_of

# The people of the alliance file (``users``), by username.
USERS = "urn:yilian:user"
READ_BACK = {
    "coding": [{"system": "http://terminology.hl7.org/CodeSystem/communication-category",
                "code": "notification", "display": "Notification"}],
    "text": "危急值复述",
}  # fmt: skip


def router(platform: Platform) -> APIRouter:
    api = APIRouter(prefix="/fhir/Communication", tags=["FHIR"])

    async def answer(work: Callable[[Session], Any]) -> Response:
        return await json_answer(platform, work)

    @api.post("/{alert_id}/$acknowledge")
    async def acknowledge_alert(request: Request, requester: Auth, alert_id: str) -> Response:
        interactions.authorize(requester, "Communication", "u")
        try:
            read_back = _read_back(loads(await request.body() or b"{}"))
        except ValueError:
            raise BadRequest("the body is not JSON") from None

        def work(session: Any) -> dict[str, Any]:
            try:
                alert = acknowledge(
                    session, alert_id, requester.org_id, requester.subject, read_back
                )
            except AlertError as exc:
                raise (NotFound if "no such" in str(exc) else Forbidden)(str(exc)) from None
            now = instant(datetime.now(UTC))
            current = fhir_store.read(session, "Communication", alert_id)
            assert current is not None
            assert current.content is not None
            done = {**current.content, "status": "completed", "received": now}
            interactions.store(session, {k: v for k, v in done.items() if k != "meta"},
                               current.owner_org_id)  # fmt: skip
            response = {
                "resourceType": "Communication", "id": new_id(), "status": "completed",
                "inResponseTo": [{"reference": f"Communication/{alert_id}"}],
                "category": [READ_BACK],
                "subject": current.content.get("subject"),
                "about": current.content.get("about", []),
                "sender": {"reference": f"Organization/{requester.org_id}",
                           "display": requester.subject},
                "recipient": [{"reference": f"Organization/{alert.source_org_id}"}],
                "sent": now, "payload": [{"contentString": f"复述：{read_back}"}],
            }  # fmt: skip
            interactions.store(session, {k: v for k, v in response.items() if v is not None},
                               requester.org_id, new=True)  # fmt: skip
            interactions.audit_fhir(session, requester, "update", "Communication", id=alert_id)
            return response

        return await answer(work)

    @api.get("/{alert_id}/$chain")
    async def chain(requester: Auth, alert_id: str) -> Response:
        interactions.authorize(requester, "Communication", "r")

        def work(session: Any) -> dict[str, Any]:
            alert = session.get(CriticalAlert, alert_id)
            orgs = visible_orgs(session, requester.org_id)
            if alert is None or not {alert.source_org_id, alert.recipient_org_id} & orgs:
                raise NotFound(f"Communication/{alert_id} is not a critical alert known here")
            interactions.audit_fhir(session, requester, "read", "Communication", id=alert_id)
            return {
                "alert": alert_id, "state": alert.state, "level": alert.level,
                "summary": alert.summary, "raised": instant(alert.raised_at),
                "deadline": instant(alert.deadline_at),
                "steps": [
                    {"at": instant(s.at), "action": s.action, "organization": s.org_id,
                     "by": s.actor, "text": s.text}
                    for s in steps(session, alert_id)
                ],
            }  # fmt: skip

        return await answer(work)

    @api.get("/$critical-figures")
    async def critical_figures(
        requester: Auth, since: str = "1970-01-01", until: str = "9999-12-31"
    ) -> Response:
        def count(
            session: Session, orgs: set[str], start: datetime, end: datetime
        ) -> dict[str, Any]:
            found = figures(session, orgs, start, end)
            return {
                "raised": found.raised, "acknowledged": found.acknowledged,
                "onTime": found.on_time, "escalated": found.escalated, "open": found.open,
                "medianMinutes": found.median_minutes, "timeliness": found.timeliness,
            }  # fmt: skip

        return await figures_answer(platform, requester, "Communication", since, until, count)

    return api


def _read_back(body: Any) -> str:
    if isinstance(body, dict) and body.get("resourceType") == "Parameters":
        for parameter in body.get("parameter", []):
            if isinstance(parameter, dict) and parameter.get("name") == "readBack":
                return str(parameter.get("valueString", ""))
    raise BadRequest("send a Parameters resource with readBack (valueString): what was read back")


def on_deadline(platform: Platform, payload: dict[str, Any]) -> None:
    """Worker handler for ``critical.deadline``: escalate an alert still open at its level."""
    deadline = timedelta(minutes=float(payload.get("minutes", 15)))
    with transaction(platform.sessions) as session:
        alert = escalate(session, payload["alert"], int(payload["level"]), deadline)
        if alert is None:
            return
        current = fhir_store.read(session, "Communication", alert.id)
        if current is None or current.content is None:
            return
        told = alert.recipient_org_id if alert.level == 1 else alert.source_org_id
        heads = heads_of(session, told) if alert.level == 1 else []
        content = {k: v for k, v in current.content.items() if k != "meta"}
        recipients = content.get("recipient", [])
        targets = [{"reference": f"Organization/{told}"}] + [
            {"type": "Practitioner", "identifier": {"system": USERS, "value": head.username},
             "display": head.display_name}
            for head in heads
        ]  # fmt: skip
        recipients = [*recipients, *(t for t in targets if t not in recipients)]
        text = f"超时未确认，已升级至{escalated_to(alert.level, heads)}"
        note = {"time": instant(datetime.now(UTC)), "text": text}
        content |= {"recipient": recipients, "note": [*content.get("note", []), note]}
        interactions.store(session, content, current.owner_org_id)
