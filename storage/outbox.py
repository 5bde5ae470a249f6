"""The outbox: events written in the producer's transaction and claimed by workers.

A claim is one ``UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING`` statement:
on PostgreSQL concurrent workers skip each other's rows; on SQLite the single writer makes the
statement atomic.  A claim is a lease: if a worker dies, the event becomes claimable again when
the lease expires.  Failures retry with exponential backoff, then land in ``dead`` for an admin.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, event, func, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session, sessionmaker

from storage import wake_datagrams
from storage.db import add_rows, transaction
from storage.models import OutboxEvent, OutboxState

MAX_BACKOFF = timedelta(hours=1)
_ENQUEUED = "outbox.enqueued"  # session.info: this transaction holds new events
# Set when a transaction commits new events: a worker of the same process (``yilian serve``
# runs them together) starts on them at once instead of at its next poll.  The workers of
# other processes are told too: on PostgreSQL the commit notifies WAKE_CHANNEL, which they
# listen to (``storage.wake``); on SQLite a datagram goes to the database's worker
# (``storage.wake_datagrams``).
work_committed = threading.Event()
WAKE_CHANNEL = "yilian_outbox"


@event.listens_for(Session, "after_commit")
def _wake_workers(session: Session) -> None:
    if _ENQUEUED in session.info:
        work_committed.set()
        if (sqlite_url := session.info.pop(_ENQUEUED)) is not None:
            wake_datagrams.tell(sqlite_url)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_ENQUEUED, None)


@dataclass(frozen=True, slots=True)
class ClaimedEvent:
    id: int
    topic: str
    payload: dict[str, Any]
    attempts: int


def enqueue(
    session: Session,
    topic: str,
    payload: dict[str, Any],
    *,
    delay: timedelta = timedelta(0),
    max_attempts: int = 10,
) -> None:
    """Add an event to ``session``; it becomes visible when the caller's transaction commits."""
    now = datetime.now(UTC)
    event = {
        "topic": topic,
        "payload": payload,
        "state": OutboxState.PENDING,
        "attempts": 0,
        "max_attempts": max_attempts,
        "available_at": now + delay,
        "created_at": now,
        "updated_at": now,
    }
    add_rows(session, OutboxEvent, [event])
    if delay <= timedelta(0) and _ENQUEUED not in session.info:
        bind = session.get_bind()
        sqlite = bind.dialect.name == "sqlite"
        # What to tell once the transaction commits (SQLite: its database; see _wake_workers)
        session.info[_ENQUEUED] = bind.url.render_as_string() if sqlite else None
        if bind.dialect.name == "postgresql":
            # Delivered when (and only if) the transaction commits; one per transaction.
            session.execute(select(func.pg_notify(WAKE_CHANNEL, "")))


def claim(
    sessions: sessionmaker[Session],
    *,
    limit: int = 10,
    lease: timedelta = timedelta(minutes=5),
) -> list[ClaimedEvent]:
    """Up to ``limit`` events to run: those whose lease ran out (their worker died) first,
    then the pending ones that are due, oldest first.  Each half is one indexed walk that stops
    after ``limit`` rows, so a claim costs the same behind a backlog of any length (one query
    with both conditions OR-ed had the database collect and sort every pending event)."""
    now = datetime.now(UTC)
    expired = and_(OutboxEvent.state == OutboxState.RUNNING, OutboxEvent.locked_until < now)
    due = and_(OutboxEvent.state == OutboxState.PENDING, OutboxEvent.available_at <= now)
    with transaction(sessions) as session:
        rows = _take(session, expired, OutboxEvent.locked_until, limit, lease, now)
        if len(rows) < limit:
            rows += _take(session, due, OutboxEvent.available_at, limit - len(rows), lease, now)
    return sorted((ClaimedEvent(*row) for row in rows), key=lambda e: e.id)


def _take(
    session: Session,
    claimable: ColumnElement[bool],
    oldest: InstrumentedAttribute[Any],
    limit: int,
    lease: timedelta,
    now: datetime,
) -> list[Row[Any]]:
    """Lease up to ``limit`` events matching ``claimable``, ordered by ``oldest`` (on
    PostgreSQL skipping rows other workers are claiming).  The rows are chosen and leased in
    one statement, under the subquery's row locks on PostgreSQL and the single writer on
    SQLite, so the update needs no second look at ``claimable``: with it, SQLite walked
    every pending event's index entry to apply it."""
    candidates = (
        select(OutboxEvent.id)
        .where(claimable)
        .order_by(oldest, OutboxEvent.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    statement = (
        update(OutboxEvent)
        .where(OutboxEvent.id.in_(candidates.scalar_subquery()))
        .values(
            state=OutboxState.RUNNING,
            attempts=OutboxEvent.attempts + 1,
            locked_until=now + lease,
            updated_at=now,
        )
        .returning(OutboxEvent.id, OutboxEvent.topic, OutboxEvent.payload, OutboxEvent.attempts)
        .execution_options(synchronize_session=False)
    )
    return list(session.execute(statement).all())


def complete(sessions: sessionmaker[Session], event_id: int) -> None:
    with transaction(sessions) as session:
        complete_in(session, [event_id])


def complete_in(session: Session, event_ids: list[int]) -> None:
    """Mark events done in the caller's transaction (with the effects of their handlers)."""
    if event_ids:
        session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id.in_(event_ids))
            .values(state=OutboxState.DONE, locked_until=None, last_error=None)
        )


def release(sessions: sessionmaker[Session], event_ids: list[int]) -> None:
    """Give claimed events back, not started: due again at once, the attempt not counted."""
    with transaction(sessions) as session:
        session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id.in_(event_ids), OutboxEvent.state == OutboxState.RUNNING)
            .values(
                state=OutboxState.PENDING,
                attempts=OutboxEvent.attempts - 1,
                locked_until=None,
                available_at=datetime.now(UTC),
            )
        )


def fail(
    sessions: sessionmaker[Session], event_id: int, error: str, *, permanent: bool = False
) -> OutboxState:
    """Record a failed attempt: retry later with backoff, or give up into ``dead``."""
    with transaction(sessions) as session:
        event = session.get(OutboxEvent, event_id)
        if event is None:
            raise LookupError(f"no outbox event {event_id}")
        event.last_error = error[:4000]
        event.locked_until = None
        if permanent or event.attempts >= event.max_attempts:
            event.state = OutboxState.DEAD
        else:
            backoff = min(timedelta(seconds=2 ** min(event.attempts, 20)), MAX_BACKOFF)
            event.state = OutboxState.PENDING
            event.available_at = datetime.now(UTC) + backoff
        return OutboxState(event.state)


def replay(sessions: sessionmaker[Session], event_id: int) -> None:
    """Put a dead event back in the queue (an admin's action)."""
    with transaction(sessions) as session:
        replay_dead(session, event_id)


def replay_dead(session: Session, event_id: int) -> bool:
    """:func:`replay` in the caller's transaction; False when there is no such dead event."""
    result = session.execute(
        update(OutboxEvent)
        .where(OutboxEvent.id == event_id, OutboxEvent.state == OutboxState.DEAD)
        .values(state=OutboxState.PENDING, attempts=0, available_at=datetime.now(UTC))
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def dead_events(session: Session, limit: int = 100) -> list[OutboxEvent]:
    """The events that gave up, newest first, for an administrator to look at and replay."""
    return list(
        session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.state == OutboxState.DEAD)
            .order_by(OutboxEvent.updated_at.desc(), OutboxEvent.id.desc())
            .limit(limit)
        )
    )


def is_pending(session: Session, topic: str) -> bool:
    """Whether an event of ``topic`` waits to be run (not one being run now)."""
    waiting = select(OutboxEvent.id).where(
        OutboxEvent.topic == topic, OutboxEvent.state == OutboxState.PENDING
    )
    return session.scalar(waiting.limit(1)) is not None


def recent_events(session: Session, topic: str, limit: int = 1000) -> list[OutboxEvent]:
    """The newest events of a topic (for showing delivery state), newest first."""
    return list(
        session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.topic == topic)
            .order_by(OutboxEvent.id.desc())
            .limit(limit)
        )
    )
