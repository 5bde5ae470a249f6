"""Referral steps (双向转诊的时间节点): one row per referral Task — who referred whom to whom,
which way, how urgent, and when each step happened — so both sides see the clock and the
alliance can count its referrals (:func:`referral_figures`).

A step keeps its first time; the referral is open until it is declined, completed or
cancelled."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from storage.clinical.intervals import interval_figures, minutes_between
from storage.models import ReferralSteps

STEPS = ("accepted", "declined", "arrived", "completed", "cancelled")
FINISHING = ("declined", "completed", "cancelled")


def open_referral(
    session: Session,
    *,
    task_id: str,
    referral_id: str,
    direction: str,
    priority: str,
    referrer_org_id: str,
    receiver_org_id: str,
    booked: bool,
    referred_at: datetime,
    accept_due_at: datetime | None,
) -> ReferralSteps:
    row = ReferralSteps(
        task_id=task_id, referral_id=referral_id, direction=direction, priority=priority,
        referrer_org_id=referrer_org_id, receiver_org_id=receiver_org_id, booked=booked,
        referred_at=referred_at, accept_due_at=accept_due_at,
    )  # fmt: skip
    session.add(row)
    session.flush()
    return row


def stamp(session: Session, task_id: str, step: str, at: datetime, who: str | None) -> None:
    """Note that ``step`` (one of :data:`STEPS`, or ``escalated``) happened at ``at``."""
    row = session.get(ReferralSteps, task_id)
    if row is None:
        return
    if getattr(row, f"{step}_at") is None:
        setattr(row, f"{step}_at", at)
        if step != "escalated":
            setattr(row, f"{step}_by", who)
    session.flush()


def steps_of(session: Session, task_id: str) -> ReferralSteps | None:
    return session.get(ReferralSteps, task_id)


def for_referral(session: Session, referral_id: str) -> ReferralSteps | None:
    return session.scalars(
        select(ReferralSteps).where(ReferralSteps.referral_id == referral_id)
    ).first()


def is_open(row: ReferralSteps) -> bool:
    return all(getattr(row, f"{step}_at") is None for step in FINISHING)


def boxes(session: Session, org_id: str, box: str, limit: int = 200) -> list[ReferralSteps]:
    """An organization's referrals: received (``in``), sent (``out``), newest first."""
    column = ReferralSteps.receiver_org_id if box == "in" else ReferralSteps.referrer_org_id
    query = (
        select(ReferralSteps)
        .where(column == org_id)
        .order_by(ReferralSteps.referred_at.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def timeline(row: ReferralSteps) -> dict[str, Any]:
    """Each step's time and who took it, as a page shows them."""
    shown: dict[str, Any] = {"referred": {"at": row.referred_at}}
    for step in STEPS:
        at = getattr(row, f"{step}_at")
        if at is not None:
            shown[step] = {"at": at, "by": getattr(row, f"{step}_by")}
    if row.escalated_at is not None:
        shown["escalated"] = {"at": row.escalated_at}
    return shown


def referrals_in(session: Session, org_ids: set[str], start: datetime, end: datetime) -> list[Any]:
    """The steps of the referrals made in ``[start, end)`` by or to ``org_ids``, as read-only
    rows of :class:`ReferralSteps`' columns."""
    steps = ReferralSteps
    statement = select(*steps.__table__.columns).where(
        or_(steps.referrer_org_id.in_(org_ids), steps.receiver_org_id.in_(org_ids)),
        steps.referred_at >= start,
        steps.referred_at < end,
    )
    return list(session.execute(statement).all())


def referral_figures(
    session: Session, org_ids: set[str], start: datetime, end: datetime
) -> dict[str, Any]:
    """The referrals made between ``start`` and ``end`` (by ``referred_at``) by or to
    ``org_ids``: ``referrals`` (双向转诊人次), ``up`` (上转) and ``down`` (下转); ``accepted``,
    ``declined``, ``arrived``, ``completed``, ``cancelled``; ``upBooked``: upward ones that
    came with a booked Appointment (预约转诊: an ``Appointment`` in the referral's
    ``supportingInfo``); ``greenChannel`` (urgent upward), ``greenChannelOnTime`` (accepted
    by the due time), ``escalated``; ``acceptanceMinutes``: count, median and 90th percentile
    (``p90``) of the minutes from referral to acceptance.  Rates (下转率 = down / referrals,
    预约转诊率 = upBooked / up) are the caller's."""
    rows = referrals_in(session, org_ids, start, end)
    up = [r for r in rows if r.direction == "up"]
    urgent = [r for r in up if r.accept_due_at is not None]
    acceptance = interval_figures(minutes_between(r.referred_at, r.accepted_at) for r in rows)
    return {
        "referrals": len(rows),
        "up": len(up),
        "down": len(rows) - len(up),
        "accepted": sum(r.accepted_at is not None for r in rows),
        "declined": sum(r.declined_at is not None for r in rows),
        "arrived": sum(r.arrived_at is not None for r in rows),
        "completed": sum(r.completed_at is not None for r in rows),
        "cancelled": sum(r.cancelled_at is not None for r in rows),
        "upBooked": sum(r.booked for r in up),
        "greenChannel": len(urgent),
        "greenChannelOnTime": sum(on_time(r) for r in urgent),
        "escalated": sum(r.escalated_at is not None for r in rows),
        "acceptanceMinutes": {
            "count": acceptance.count,
            "median": acceptance.median_minutes,
            "p90": acceptance.p90_minutes,
        },
    }


def on_time(row: Any) -> bool:
    """Accepted within the green channel's time."""
    due, accepted = row.accept_due_at, row.accepted_at
    return due is not None and accepted is not None and accepted <= due
