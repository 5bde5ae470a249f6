"""Record access to patient data (one row per request, in the access log table)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage.db import add_rows, transaction
from storage.models import AuditRecord


def audit(
    session: Session,
    *,
    channel: str,
    actor: str,
    actor_org_id: str | None,
    action: str,
    outcome: str,
    **entities: Any,
) -> None:
    """Add a record to ``session`` (it commits with the caller's transaction)."""
    add_rows(
        session,
        AuditRecord,
        [
            {
                "channel": channel,
                "actor": actor,
                "actor_org_id": actor_org_id,
                "action": action,
                "outcome": outcome,
                "entities": entities,
            }
        ],
    )


def audit_now(sessions: sessionmaker[Session], **record: Any) -> None:
    """Record in a transaction of its own (for reads, which have no write to join)."""
    with transaction(sessions) as session:
        audit(session, **record)


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
