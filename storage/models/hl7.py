"""Every HL7 v2 message received from a registered peer: where its bytes are archived, what it
was, and what became of it (an admin sees the failed ones and can have them replayed)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, BigIntPK, UTCDateTime, utcnow


class Hl7State(StrEnum):
    RECEIVED = "received"  # archived, not (yet) applied: storage failed while applying
    PROCESSED = "processed"  # applied; AA sent
    FAILED = "failed"  # content error; AE sent; can be replayed once the cause is fixed
    DUPLICATE = "duplicate"  # the same control id from the same peer was applied before
    REJECTED = "rejected"  # not accepted (type or version not supported); AR sent


class Hl7Message(Base):
    __tablename__ = "hl7_messages"
    __table_args__ = (
        CheckConstraint(
            "state IN ('received', 'processed', 'failed', 'duplicate', 'rejected')", name="state"
        ),
        Index("ix_hl7_messages_peer_control", "peer_id", "control_id"),
        Index("ix_hl7_messages_state", "state", "received_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    peer_id: Mapped[str] = mapped_column(ForeignKey("mllp_peers.id"))
    control_id: Mapped[str] = mapped_column(String(199))
    message_type: Mapped[str] = mapped_column(String(20))  # ORU^R01
    version: Mapped[str] = mapped_column(String(8))
    object_key: Mapped[str] = mapped_column(ForeignKey("stored_objects.key"))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    state: Mapped[str] = mapped_column(String(16), default=Hl7State.RECEIVED)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)  # what was wrong, and where (no PHI)
    # ``Type/id`` of the FHIR resources the message wrote, and local codes without a mapping.
    resources: Mapped[list[str] | None] = mapped_column(JSON)
    unmapped_codes: Mapped[list[str] | None] = mapped_column(JSON)
