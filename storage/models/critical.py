"""Critical results (危急值) and critical findings: one register for lab, imaging and ECG.
Each alert is a FHIR Communication to the organization that must act; its chain (raised,
escalated, acknowledged with what was read back) is kept step by step."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, BigIntPK, UTCDateTime, utcnow


class AlertState(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"


class CriticalAlert(Base):
    __tablename__ = "critical_alerts"
    __table_args__ = (
        CheckConstraint("state IN ('open', 'acknowledged')", name="state"),
        Index("ix_critical_alerts_recipient", "recipient_org_id", "raised_at"),
        Index("ix_critical_alerts_source", "source_org_id", "raised_at"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # = the Communication's id
    kind: Mapped[str] = mapped_column(String(16))  # lab, imaging, ecg, pathology
    source_org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    recipient_org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    subject: Mapped[str | None] = mapped_column(String(128))  # Patient/id
    about: Mapped[str] = mapped_column(String(128))  # Observation/id, DiagnosticReport/id
    summary: Mapped[str] = mapped_column(Text)  # 钾 6.8 mmol/L（危急高值）
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime)
    level: Mapped[int] = mapped_column(Integer, default=0)  # 0 recipient, 1 its head, 2 source
    state: Mapped[str] = mapped_column(String(16), default=AlertState.OPEN)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(128))
    read_back: Mapped[str | None] = mapped_column(Text)


class CriticalAlertStep(Base):
    __tablename__ = "critical_alert_steps"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    alert_id: Mapped[str] = mapped_column(ForeignKey("critical_alerts.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    action: Mapped[str] = mapped_column(String(16))  # raised, escalated, acknowledged
    org_id: Mapped[str] = mapped_column(String(64))  # who was told, or who answered
    actor: Mapped[str | None] = mapped_column(String(128))
    text: Mapped[str | None] = mapped_column(Text)
