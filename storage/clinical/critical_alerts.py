"""The critical-alert register: raise, escalate, acknowledge, count — the same for a lab's
critical value and an imaging or ECG critical finding.

An alert goes to the organization that must act (the one that ordered) with a deadline
(default 15 minutes).  Unacknowledged at the deadline it escalates — first to that
organization's head (负责人), then back to the centre that raised it — each with a new deadline
(``critical.deadline`` outbox events).  Acknowledging records who, when and the read-back text
(复述).  The FHIR Communication that carries the alert is written by the service that raises
or changes it; this module keeps the chain and the figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from storage.clinical.intervals import interval_figures, sql_minutes
from storage.models import AlertState, CriticalAlert, CriticalAlertStep, User
from storage.outbox import enqueue
from storage.registry import heads_of

DEADLINE_TOPIC = "critical.deadline"
LAST_LEVEL = 2  # 0 the ordering organization, 1 its head, 2 the centre that raised it


ALERT_CATEGORY = {
    "coding": [{"system": "http://terminology.hl7.org/CodeSystem/communication-category",
                "code": "alert", "display": "Alert"}],
    "text": "危急值",
}  # fmt: skip


def alert_message(
    *,
    alert_id: str,
    subject: dict[str, Any],
    about: list[str],
    recipient_org_id: str,
    source_org_id: str,
    text: str,
    based_on: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The alert as the FHIR ``Communication`` its recipient reads (危急值：…), whoever raises it
    (a lab result, an imaging or ECG finding): its id is the alert's."""
    return {
        "resourceType": "Communication", "id": alert_id, "status": "in-progress",
        "category": [ALERT_CATEGORY], "priority": "stat", "subject": subject,
        "about": [{"reference": reference} for reference in about],
        "recipient": [{"reference": f"Organization/{recipient_org_id}"}],
        "sender": {"reference": f"Organization/{source_org_id}"},
        "sent": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "payload": [{"contentString": f"危急值：{text}"}],
        **({"basedOn": based_on} if based_on else {}),
    }  # fmt: skip


class AlertError(Exception):
    """The alert cannot be acknowledged by this organization (not its, or already done)."""


def raise_alert(
    session: Session,
    *,
    alert_id: str,
    kind: str,
    source_org_id: str,
    recipient_org_id: str,
    subject: str | None,
    about: str,
    summary: str,
    deadline: timedelta,
    raised_by: str | None = None,
) -> CriticalAlert:
    """Open an alert (``raised_by``: the person who raised it, a username, if one did)."""
    now = datetime.now(UTC)
    alert = CriticalAlert(
        id=alert_id, kind=kind, source_org_id=source_org_id, recipient_org_id=recipient_org_id,
        subject=subject, about=about, summary=summary, raised_at=now, deadline_at=now + deadline,
        level=0, state=AlertState.OPEN,
    )  # fmt: skip
    session.add(alert)
    session.add(CriticalAlertStep(alert_id=alert_id, at=now, action="raised",
                                  org_id=recipient_org_id, actor=raised_by,
                                  text=summary))  # fmt: skip
    enqueue(session, DEADLINE_TOPIC, _deadline_payload(alert, deadline), delay=deadline)
    return alert


def _deadline_payload(alert: CriticalAlert, deadline: timedelta) -> dict[str, object]:
    return {"alert": alert.id, "level": alert.level, "minutes": deadline.total_seconds() / 60}


def escalate(
    session: Session, alert_id: str, level: int, deadline: timedelta
) -> CriticalAlert | None:
    """At the deadline of ``level``: the alert moves up one level if it is still open there
    (None otherwise: acknowledged, or escalated already by another worker)."""
    alert = session.get(CriticalAlert, alert_id, with_for_update=True)
    if alert is None or alert.state != AlertState.OPEN or alert.level != level:
        return None
    if level >= LAST_LEVEL:
        return None
    now = datetime.now(UTC)
    alert.level = level + 1
    alert.deadline_at = now + deadline
    told = alert.recipient_org_id if alert.level == 1 else alert.source_org_id
    heads = heads_of(session, told) if alert.level == 1 else []
    step = CriticalAlertStep(
        alert_id=alert.id,
        at=now,
        action="escalated",
        org_id=told,
        actor=",".join(h.username for h in heads)[:128] or None,
        text=f"超时未确认，升级至{escalated_to(alert.level, heads)}",
    )
    session.add(step)
    if alert.level < LAST_LEVEL:
        enqueue(session, DEADLINE_TOPIC, _deadline_payload(alert, deadline), delay=deadline)
    return alert


def escalated_to(level: int, heads: list[User]) -> str:
    """Whom an escalation to ``level`` tells, as the chain and the Communication say it."""
    if level >= LAST_LEVEL:
        return "出具中心"
    return f"负责人：{'、'.join(h.display_name for h in heads)}" if heads else "负责人（未登记）"


def acknowledge(
    session: Session, alert_id: str, org_id: str, actor: str, read_back: str
) -> CriticalAlert:
    """The receiving organization (or, once escalated to it, the raising centre) confirms,
    with what it read back."""
    alert = session.get(CriticalAlert, alert_id, with_for_update=True)
    if alert is None:
        raise AlertError("no such critical alert")
    allowed = {alert.recipient_org_id} | ({alert.source_org_id} if alert.level >= 2 else set())
    if org_id not in allowed:
        raise AlertError("this organization is not the alert's recipient")
    if alert.state != AlertState.OPEN:
        raise AlertError("the alert was acknowledged already")
    if not read_back.strip():
        raise AlertError("acknowledging a critical value needs the read-back text (复述)")
    now = datetime.now(UTC)
    alert.state, alert.acknowledged_at = AlertState.ACKNOWLEDGED, now
    alert.acknowledged_by, alert.read_back = actor, read_back
    session.add(CriticalAlertStep(alert_id=alert.id, at=now, action="acknowledged", org_id=org_id,
                                  actor=actor, text=read_back))  # fmt: skip
    return alert


def inbox(session: Session, org_id: str, state: AlertState, limit: int) -> list[CriticalAlert]:
    """The alerts ``org_id`` must act on (or has acted on), newest first: those it received,
    and those it raised once they have escalated back to it."""
    return list(
        session.scalars(
            select(CriticalAlert)
            .where(
                CriticalAlert.state == state,
                (CriticalAlert.recipient_org_id == org_id)
                | ((CriticalAlert.source_org_id == org_id) & (CriticalAlert.level >= LAST_LEVEL)),
            )
            .order_by(CriticalAlert.raised_at.desc())
            .limit(limit)
        )
    )


def raisers(session: Session, alert_ids: list[str]) -> dict[str, str]:
    """Who raised each alert that a person raised (alert id -> username)."""
    rows = session.execute(
        select(CriticalAlertStep.alert_id, CriticalAlertStep.actor).where(
            CriticalAlertStep.alert_id.in_(alert_ids),
            CriticalAlertStep.action == "raised",
            CriticalAlertStep.actor.is_not(None),
        )
    )
    return {alert_id: actor for alert_id, actor in rows}


def steps(session: Session, alert_id: str) -> list[CriticalAlertStep]:
    return list(
        session.scalars(
            select(CriticalAlertStep)
            .where(CriticalAlertStep.alert_id == alert_id)
            .order_by(CriticalAlertStep.id)
        )
    )


@dataclass(frozen=True, slots=True)
class AlertFigures:
    raised: int
    acknowledged: int
    on_time: int  # acknowledged before the first deadline, without escalation
    escalated: int
    open: int
    median_minutes: float | None  # raised -> acknowledged

    @property
    def timeliness(self) -> float | None:
        """On-time acknowledgements per raised alert (the lab QC indicator)."""
        return self.on_time / self.raised if self.raised else None


def clocks_in(session: Session, orgs: set[str], since: datetime, until: datetime) -> list[Any]:
    """The alerts raised in ``[since, until)`` by or for ``orgs``, as rows of
    ``recipient_org_id``, ``acknowledged``, ``on_time`` (acknowledged by the organization told
    first, before the first deadline), ``escalated``, ``open`` and ``minutes`` (raised →
    acknowledged, computed by the database)."""
    alert = CriticalAlert
    acknowledged = alert.acknowledged_at.is_not(None)
    statement = select(
        alert.recipient_org_id, acknowledged.label("acknowledged"),
        and_(acknowledged, alert.level == 0, alert.acknowledged_at <= alert.deadline_at)
        .label("on_time"),
        (alert.level > 0).label("escalated"), (alert.state == AlertState.OPEN).label("open"),
        sql_minutes(alert.raised_at, alert.acknowledged_at).label("minutes"),
    ).where(
        alert.raised_at >= since, alert.raised_at < until,
        or_(alert.source_org_id.in_(orgs), alert.recipient_org_id.in_(orgs)),
    )  # fmt: skip
    return list(session.execute(statement).all())


def figures(session: Session, orgs: set[str], since: datetime, until: datetime) -> AlertFigures:
    """What happened to the alerts raised in ``[since, until)`` by or for ``orgs``."""
    rows = clocks_in(session, orgs, since, until)
    minutes = interval_figures(r.minutes for r in rows)
    return AlertFigures(
        raised=len(rows),
        acknowledged=sum(1 for r in rows if r.acknowledged),
        on_time=sum(1 for r in rows if r.on_time),
        escalated=sum(1 for r in rows if r.escalated),
        open=sum(1 for r in rows if r.open),
        median_minutes=minutes.median_minutes,
    )
