"""Access records: the row of one access, added to a write's own transaction or collected by
a read (:func:`reading_session`) for the audit log to commit before the answer goes out."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage.db import add_rows, reading
from storage.models import AuditRecord
from storage.models.base import utcnow

# The records a read session collected, in its ``info``.
_COLLECTED = "storage.audit.collected"


def record_row(
    *,
    channel: str,
    actor: str,
    actor_org_id: str | None,
    action: str,
    outcome: str,
    **entities: Any,
) -> dict[str, Any]:
    """The ``audit_records`` row of one access, stamped now (when it happened, not when a later
    commit holds it)."""
    return {
        "recorded_at": utcnow(),
        "channel": channel,
        "actor": actor,
        "actor_org_id": actor_org_id,
        "action": action,
        "outcome": outcome,
        "entities": entities,
    }


def audit(session: Session, **record: Any) -> None:
    """Record an access made with ``session``: in a write transaction the row commits with the
    write; in a :func:`reading_session` it is collected for the audit log."""
    row = record_row(**record)
    collected: list[dict[str, Any]] | None = session.info.get(_COLLECTED)
    if collected is not None:
        collected.append(row)
    else:
        add_rows(session, AuditRecord, [row])


@contextmanager
def reading_session(
    sessions: sessionmaker[Session], collected: list[dict[str, Any]]
) -> Iterator[Session]:
    """A read-only session (:func:`storage.db.reading`) whose access records go to
    ``collected`` instead of the database."""
    with reading(sessions) as session:
        session.info[_COLLECTED] = collected
        yield session


@dataclass
class AuditQuery:
    """Which access records to list: by the acting organizations, time, action and outcome."""

    orgs: frozenset[str]
    since: datetime | None = None
    until: datetime | None = None
    actor_org: str | None = None
    actor: str | None = None
    actions: list[str] | None = None
    not_actions: list[str] | None = None
    outcomes: list[str] | None = None
    limit: int = 20
    offset: int = 0


def find_records(session: Session, query: AuditQuery) -> list[AuditRecord]:
    """Newest first."""
    statement = select(AuditRecord).where(AuditRecord.actor_org_id.in_(query.orgs))
    conditions = [
        (query.since, lambda v: AuditRecord.recorded_at >= v),
        (query.until, lambda v: AuditRecord.recorded_at <= v),
        (query.actor_org, lambda v: AuditRecord.actor_org_id == v),
        (query.actor, lambda v: AuditRecord.actor == v),
        (query.actions, lambda v: AuditRecord.action.in_(v)),
        (query.not_actions, lambda v: AuditRecord.action.not_in(v)),
        (query.outcomes, lambda v: AuditRecord.outcome.in_(v)),
    ]
    for value, condition in conditions:
        if value is not None:
            statement = statement.where(condition(value))
    statement = statement.order_by(AuditRecord.recorded_at.desc(), AuditRecord.id.desc())
    return list(session.scalars(statement.offset(query.offset).limit(query.limit)))


def get_record(session: Session, record_id: int, orgs: frozenset[str]) -> AuditRecord | None:
    row = session.get(AuditRecord, record_id)
    return row if row is not None and row.actor_org_id in orgs else None
