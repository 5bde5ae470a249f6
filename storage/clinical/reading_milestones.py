"""Remote-reading milestones (影像远程诊断的时间节点): one row per reading Task, from the order to
delivery, so the worklist can show the clocks and the centre can count its turnaround.

A step is stamped where it happens (the reading state machine, MPPS, the study becoming
stable, delivery).  The exam and image steps keep the earliest time learnt; a claim and an
amendment keep the last; the work is finished when it is verified, returned or cancelled.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from storage.clinical.intervals import (
    IntervalFigures,
    interval_figures,
    minutes_between,
    sql_minutes,
)
from storage.models import ReadingMilestones

# step -> (column, keep the first time learnt)
STEPS = {
    "exam-started": ("exam_started_at", True),
    "exam-ended": ("exam_ended_at", True),
    "images-complete": ("images_at", True),
    "claimed": ("claimed_at", False),
    "preliminary": ("preliminary_at", False),
    "verified": ("verified_at", True),
    "delivered": ("delivered_at", True),
    "returned": ("returned_at", True),
    "amended": ("amended_at", False),
    "escalated": ("escalated_at", True),
}
FINISHING = {"verified", "returned", "cancelled"}
# name -> (from, to): the clocks of remote reading (报告时限 runs from images complete)
INTERVALS = {
    "orderToReport": ("ordered_at", "verified_at"),
    "imagesToReport": ("images_at", "verified_at"),
    "waitingForReader": ("images_at", "claimed_at"),
    "reading": ("claimed_at", "preliminary_at"),
    "verification": ("preliminary_at", "verified_at"),
    "exam": ("exam_started_at", "exam_ended_at"),
}


def open_work(
    session: Session,
    *,
    task_id: str,
    order_id: str,
    centre_id: str,
    requester_org_id: str | None,
    modality: str | None,
    priority: str,
    ordered_at: datetime,
    due_at: datetime,
) -> None:
    """The row of a new reading Task (nothing happens if it has one)."""
    if session.get(ReadingMilestones, task_id) is None:
        session.add(ReadingMilestones(
            task_id=task_id, order_id=order_id, centre_id=centre_id,
            requester_org_id=requester_org_id, modality=modality, priority=priority,
            ordered_at=ordered_at, due_at=due_at,
        ))  # fmt: skip
        session.flush()


def stamp(
    session: Session, task_id: str, step: str, at: datetime, who: str | None = None
) -> ReadingMilestones | None:
    """Note that ``step`` happened at ``at`` (by user ``who``); None if the Task has no row."""
    row = session.get(ReadingMilestones, task_id)
    if row is None:
        return None
    if step in STEPS:
        column, keep_first = STEPS[step]
        if not (keep_first and getattr(row, column) is not None):
            setattr(row, column, at)
    if step == "preliminary" and who:
        row.author = who
    if step == "verified" and who:
        row.verifier = who
    if step in FINISHING and row.finished_at is None:
        row.finished_at = at
    session.flush()
    return row


def reschedule(
    session: Session, task_id: str, *, due_at: datetime | None = None, priority: str | None = None
) -> None:
    """The work is due at ``due_at`` from now on (a chest-pain ECG: from its arrival), or
    has become ``priority``."""
    row = session.get(ReadingMilestones, task_id)
    if row is None:
        return
    if due_at is not None:
        row.due_at = due_at
    if priority is not None:
        row.priority = priority
    session.flush()


def milestones(session: Session, task_id: str) -> ReadingMilestones | None:
    return session.get(ReadingMilestones, task_id)


def for_order(session: Session, order_id: str) -> list[ReadingMilestones]:
    query = select(ReadingMilestones).where(ReadingMilestones.order_id == order_id)
    return list(session.scalars(query))


def overdue(session: Session, now: datetime, limit: int = 500) -> list[ReadingMilestones]:
    """Open work past its due time that has not been escalated yet."""
    query = (
        select(ReadingMilestones)
        .where(
            ReadingMilestones.finished_at.is_(None),
            ReadingMilestones.due_at < now,
            ReadingMilestones.escalated_at.is_(None),
        )
        .order_by(ReadingMilestones.due_at)
        .limit(limit)
    )
    return list(session.scalars(query))


def minutes(row: ReadingMilestones, interval: str) -> float | None:
    return minutes_between(*(getattr(row, column) for column in INTERVALS[interval]))


@dataclass(frozen=True, slots=True)
class Figures:
    """Turnaround of a group of reading Tasks: how many, done on time, and each interval."""

    tasks: int
    verified: int
    on_time: int
    overdue_open: int
    intervals: dict[str, IntervalFigures]

    @property
    def on_time_rate(self) -> float | None:
        return round(self.on_time / self.verified, 4) if self.verified else None


def clocks_in(
    session: Session,
    orgs: set[str] | None,
    centres: set[str] | None,
    since: datetime,
    until: datetime,
    now: datetime,
    wanted: Iterable[str] = tuple(INTERVALS),
) -> list[Any]:
    """The Tasks ordered in ``[since, until)`` by ``orgs`` or read by ``centres`` (None for
    both: every Task), as rows of
    ``centre_id``, ``requester_org_id``, ``priority``, ``modality``, ``verified``, ``on_time``
    (verified by its due time, 报告时限), ``overdue`` (open past due at ``now``) and the
    ``wanted`` intervals' minutes by name, the minutes computed by the database."""
    row = ReadingMilestones
    intervals = [
        sql_minutes(getattr(row, start), getattr(row, end)).label(name)
        for name in wanted
        for start, end in [INTERVALS[name]]
    ]
    statement = select(
        row.centre_id, row.requester_org_id, row.priority, row.modality,
        row.verified_at.is_not(None).label("verified"),
        and_(row.verified_at.is_not(None), row.verified_at <= row.due_at).label("on_time"),
        and_(row.finished_at.is_(None), row.due_at < now).label("overdue"), *intervals,
    ).where(row.ordered_at >= since, row.ordered_at < until)  # fmt: skip
    if orgs is not None or centres is not None:
        statement = statement.where(
            or_(row.requester_org_id.in_(orgs or ()), row.centre_id.in_(centres or ()))
        )
    return list(session.execute(statement).all())


def figures(
    session: Session,
    orgs: set[str],
    centres: set[str],
    since: datetime,
    until: datetime,
    now: datetime,
) -> dict[str, dict[str, Figures]]:
    """The Tasks ordered in ``[since, until)`` by ``orgs`` or read by ``centres``: all of them,
    and by modality, by priority and by centre."""
    rows = clocks_in(session, orgs, centres, since, until, now)
    groups: dict[str, dict[str, list[Any]]] = {
        "all": {"all": rows}, "modality": {}, "priority": {}, "centre": {}}  # fmt: skip
    for row in rows:
        groups["modality"].setdefault(row.modality or "unknown", []).append(row)
        groups["priority"].setdefault(row.priority, []).append(row)
        groups["centre"].setdefault(row.centre_id, []).append(row)
    return {
        name: {key: _figures(members) for key, members in sorted(by.items())}
        for name, by in groups.items()
    }


def _figures(rows: list[Any]) -> Figures:
    return Figures(
        tasks=len(rows),
        verified=sum(1 for r in rows if r.verified),
        on_time=sum(1 for r in rows if r.on_time),
        overdue_open=sum(1 for r in rows if r.overdue),
        intervals={name: interval_figures(getattr(r, name) for r in rows) for name in INTERVALS},
    )
