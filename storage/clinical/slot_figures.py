"""Exam slots over a period (号源利用率): each slot that starts in the period, with its
schedule, its publisher, whether it is in the members' share, and who holds it.

Read from the FHIR date index (``Slot.start``) and ``slot_bookings`` (who holds what: a row is
written by the booking and removed by its cancellation, so a held slot is one booked and not
cancelled — a no-show still held it).  The slots counted are those an organization of ``orgs``
published or booked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from storage.models import FhirDateIndex, FhirResource, SlotBooking

_ISO = "%Y-%m-%dT%H:%M:%S"
MEMBERS_POOL = ("http://yilian.example/fhir/CodeSystem/booking-pool", "members")


@dataclass(frozen=True, slots=True)
class SlotRow:
    schedule: str  # the Schedule's id
    publisher: str | None  # the organization that published the slot (the centre's)
    members_share: bool  # reserved for members' patients (医联体预留号源)
    booked_by: str | None  # the organization holding it, None when free


def slots_in(session: Session, orgs: set[str], start: datetime, end: datetime) -> list[SlotRow]:
    """The slots starting in ``[start, end)`` that ``orgs`` published or booked."""
    low, high = (moment.astimezone(UTC).strftime(_ISO) for moment in (start, end))
    found = session.execute(
        select(FhirResource.owner_org_id, FhirResource.content, SlotBooking.org_id)
        .join(
            FhirDateIndex,
            and_(
                FhirDateIndex.resource_type == "Slot",
                FhirDateIndex.resource_id == FhirResource.id,
                FhirDateIndex.param == "start",
            ),
        )
        .outerjoin(SlotBooking, SlotBooking.slot_id == FhirResource.id)
        .where(
            FhirResource.resource_type == "Slot",
            FhirResource.deleted.is_(False),
            FhirDateIndex.low >= low,
            FhirDateIndex.low < high,
        )
    )
    rows = []
    for publisher, content, booked_by in found:
        if publisher not in orgs and booked_by not in orgs:
            continue
        schedule = str((content or {}).get("schedule", {}).get("reference", ""))
        rows.append(
            SlotRow(schedule.removeprefix("Schedule/"), publisher, _members(content), booked_by)
        )
    return rows


def _members(content: dict | None) -> bool:
    return any(
        (coding.get("system"), coding.get("code")) == MEMBERS_POOL
        for category in (content or {}).get("serviceCategory", [])
        for coding in category.get("coding", [])
    )
