"""The access log: who (an AE, a client, a user, on behalf of an organization) did what to
which patient data, when, and with what outcome.  Identifiers stay here, never in logs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, BigIntPK, UTCDateTime, utcnow


class AuditRecord(Base):
    __tablename__ = "audit_records"
    __table_args__ = (Index("ix_audit_records_actor", "actor_org_id", "recorded_at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    channel: Mapped[str] = mapped_column(String(16), doc="dicom, http, mllp")
    actor: Mapped[str] = mapped_column(String(64), doc="AE title, client id or user name")
    actor_org_id: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32), doc="e.g. C-STORE, C-FIND, C-MOVE, C-GET")
    outcome: Mapped[str] = mapped_column(String(16), doc="success, partial, failure, denied")
    entities: Mapped[dict[str, Any]] = mapped_column(
        JSON, default=dict, doc="what was touched: study UIDs, resource ids, counts"
    )
