"""Exam booking (基层预约上级检查): which appointment holds each bookable slot."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, UTCDateTime, utcnow


class SlotBooking(Base):
    """A slot held by one appointment: the slot is the primary key, so a second booking of it
    cannot be written — the database, not a read before the write, keeps slots single."""

    __tablename__ = "slot_bookings"

    slot_id: Mapped[str] = mapped_column(String(64), primary_key=True)  # FHIR Slot id
    appointment_id: Mapped[str] = mapped_column(String(64), index=True)  # FHIR Appointment id
    org_id: Mapped[str] = mapped_column(String(64))  # the organization that booked it
    booked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
