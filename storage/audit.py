"""Record access to patient data (one row per request, in the access log table)."""

from __future__ import annotations

from typing import Any

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
