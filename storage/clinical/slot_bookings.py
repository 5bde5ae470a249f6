"""Which appointment holds each booked exam slot (预约检查).

Invariant: a slot is held by at most one appointment.  The slot id is the primary key of
``slot_bookings``, so of two transactions booking one slot at once the database lets one write
its row and refuses the other (PostgreSQL makes the second wait for the first's commit, then
reports the duplicate; SQLite has one writer at a time) — no read before the write decides.
:func:`claim` is that write, :func:`release` frees what an appointment holds; both run in the
caller's transaction with the Appointment and Slot they change, so a crash leaves all or none.
"""

from __future__ import annotations

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.models import SlotBooking, utcnow


class SlotTaken(Exception):
    """The slot is held by another appointment."""


def claim(session: Session, slot_id: str, appointment_id: str, org_id: str) -> None:
    """Hold ``slot_id`` for the appointment, or :class:`SlotTaken`.  A refused claim leaves
    the transaction unusable: the caller answers the conflict and writes nothing more."""
    row = {"slot_id": slot_id, "appointment_id": appointment_id, "org_id": org_id,
           "booked_at": utcnow()}  # fmt: skip
    try:
        session.execute(insert(SlotBooking).values(**row))
    except IntegrityError as exc:
        raise SlotTaken(slot_id) from exc


def release(session: Session, appointment_id: str, slot_ids: list[str] | None = None) -> None:
    """Free the slots the appointment holds (only ``slot_ids`` of them, when given)."""
    statement = delete(SlotBooking).where(SlotBooking.appointment_id == appointment_id)
    if slot_ids is not None:
        statement = statement.where(SlotBooking.slot_id.in_(slot_ids))
    session.execute(statement)


def holder(session: Session, slot_id: str) -> str | None:
    """The appointment holding ``slot_id``, if any."""
    return session.scalar(select(SlotBooking.appointment_id).where(SlotBooking.slot_id == slot_id))


def held_by(session: Session, appointment_id: str) -> list[str]:
    """The slots ``appointment_id`` holds."""
    return list(
        session.scalars(
            select(SlotBooking.slot_id).where(SlotBooking.appointment_id == appointment_id)
        )
    )
