"""A centre's bookable capacity from its booking rules in the alliance file (号源): per rule
(``centres[].booking``: modality, device name, weekdays, hours, slot minutes, members' share,
days ahead) one ``Schedule`` (actor the centre, serviceType the modality) and its ``Slot``s for
the coming days, in the local time zone, owned by the centre's organization.

Publishing is idempotent and never touches a slot that exists (it may be booked): it only adds
the slots missing in the window.  It runs at gateway start, when the registry changes
(``registry.changed``), and each night (:data:`ROLL_TOPIC`, an outbox event due after local
midnight, one waiting at a time) so that the window moves on.  The lead hospital's HIS may
publish over FHIR instead; the booking rules (:mod:`gateway.workflow.booking`) treat both
alike.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from gateway.fhir.publishing import publishing
from gateway.fhir.storing import store, store_if_changed
from gateway.workflow.booking import MEMBERS_SHARE, POOL
from storage.models import Centre, FhirResource
from storage.outbox import enqueue, is_pending
from storage.platform import Platform

DCM = "http://dicom.nema.org/resources/ontology/DCM"
ROLL_TOPIC = "booking.capacity"
MEMBERS = {"coding": [{"system": POOL, "code": MEMBERS_SHARE, "display": "医联体预留号源"}]}


@dataclass(frozen=True)
class Opening:
    """One slot a rule offers."""

    start: datetime
    end: datetime
    members: bool


def openings(rule: dict[str, Any], first: date, zone: ZoneInfo) -> Iterator[Opening]:
    """The slots of ``rule`` from the day ``first`` on; each day's ``members_share`` of them
    (rounded evenly: every n-th) reserved for members."""
    length = timedelta(minutes=rule["slot_minutes"])
    for offset in range(rule.get("days_ahead", 14)):
        day = first + timedelta(days=offset)
        if day.isoweekday() not in rule.get("weekdays", [1, 2, 3, 4, 5]):
            continue
        starts = []
        for hours in rule["hours"]:
            opens, closes = (time.fromisoformat(t) for t in hours.split("-"))
            moment = datetime.combine(day, opens, zone)
            while moment + length <= datetime.combine(day, closes, zone):
                starts.append(moment)
                moment += length
        share = rule["members_share"]
        for n, start in enumerate(starts):
            members = int((n + 1) * share) > int(n * share)
            yield Opening(start, start + length, members)


def schedule_id(centre: Centre, rule: dict[str, Any], index: int) -> str:
    return f"{centre.id}-{rule['modality'].lower()}-{index + 1}"


def publish_capacity(platform: Platform, today: date | None = None) -> int:
    """Publish every centre's rules; the number of slots added (none when the worker or
    another replica published them at the same moment: :func:`publishing`)."""
    zone = ZoneInfo(platform.settings.local_timezone)
    first = today or datetime.now(zone).date()
    published = 0
    with publishing(platform, "exam slots") as session:
        added = 0
        centres = session.scalars(select(Centre).order_by(Centre.id)).all()
        for centre in centres:
            for index, rule in enumerate(centre.booking_rules or []):
                schedule = schedule_id(centre, rule, index)
                added += _publish(session, centre, rule, schedule, first, zone)
        if any(centre.booking_rules for centre in centres) and not is_pending(session, ROLL_TOPIC):
            now = datetime.now(zone)
            tonight = datetime.combine(now.date() + timedelta(days=1), time(0, 5), zone)
            enqueue(session, ROLL_TOPIC, {}, delay=tonight - now)
        published = added
    return published


def on_capacity_due(platform: Platform, _payload: dict[str, Any]) -> None:
    """Worker handler for :data:`ROLL_TOPIC`: the new day's slots (and the next night's run)."""
    publish_capacity(platform)


def _publish(
    session: Any, centre: Centre, rule: dict[str, Any], schedule: str, first: date, zone: ZoneInfo
) -> int:
    service = [{"coding": [{"system": DCM, "code": rule["modality"]}], "text": rule["name"]}]
    resource = {
        "resourceType": "Schedule", "id": schedule, "active": True,
        "serviceType": service,
        "actor": [{"reference": f"HealthcareService/{centre.id}", "display": centre.name}],
        "comment": rule["name"],
    }  # fmt: skip
    store_if_changed(session, resource, centre.org_id)
    wanted = {
        f"{schedule}-{o.start.strftime('%Y%m%d%H%M')}": o for o in openings(rule, first, zone)
    }
    present = set(
        session.scalars(
            select(FhirResource.id).where(
                FhirResource.resource_type == "Slot", FhirResource.id.in_(list(wanted))
            )
        )
    )
    for slot_id, opening in wanted.items():
        if slot_id in present:
            continue
        slot = {
            "resourceType": "Slot", "id": slot_id, "status": "free",
            "schedule": {"reference": f"Schedule/{schedule}"},
            "serviceType": service,
            "start": opening.start.isoformat(), "end": opening.end.isoformat(),
        }  # fmt: skip
        if opening.members:
            slot["serviceCategory"] = [MEMBERS]
        store(session, slot, centre.org_id, new=True)
    return len(wanted) - len(present)
