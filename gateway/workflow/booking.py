"""Exam booking (基层预约上级检查): a member books the lead hospital's exam slots for its patient.

The lead hospital publishes its bookable capacity as FHIR: a ``Schedule`` per device or
service whose ``actor`` is the centre (``HealthcareService/<centre>``) and ``serviceType`` the
exam kind (CT, MR, US…), and its ``Slot``s (``start``/``end``, ``status`` free or busy).  A
slot whose ``serviceCategory`` has the code ``members`` of :data:`POOL` is in the share
reserved for members' patients (医联体预留号源); the others are the hospital's own.

A clinic books with a plain FHIR write of an ``Appointment`` (``slot`` the Slot, ``basedOn``
its ``ServiceRequest``, the patient a participant): every write of an Appointment that books
(or booked) a centre's slot (:func:`governs`) is carried out here (:func:`write`, called by
``gateway.fhir.interactions``) in the write's transaction; other appointments are plain data:

- booking: the slot is claimed in ``storage.clinical.slot_bookings`` (one appointment per slot,
  kept by the database: of concurrent bookings one wins, the others get 409), the Slot becomes
  busy, the Appointment ``booked`` with the slot's times and the centre as a participant, and
  the order's ``occurrenceDateTime`` the slot's start (the modality worklist's scheduled time);
- cancelling (``status`` cancelled) frees the slot; rescheduling (another ``slot``) claims the
  new one and frees the old in one transaction;
- attendance (``noshow``, ``arrived``, ``checked-in``, ``fulfilled``) is recorded by the
  centre's organization alone; a clinic changes only its own appointments.

Who may book what is ``storage.policy.booking_refusal``.  Plain writes of Slot and Schedule are
checked by :func:`check_capacity`: only the centre's organization publishes, and a booked slot's
status follows its appointment.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from fhir_profiles.profiles import CANONICAL
from gateway.auth.tokens import Requester
from gateway.errors import Conflict, Forbidden, NotFound, Unprocessable
from gateway.fhir.storing import store, store_valid
from storage.clinical import slot_bookings
from storage.fhir import StoredResource, VersionConflict, referencing
from storage.fhir import store as fhir_store
from storage.models import Centre
from storage.policy import booking_refusal, fhir_viewer, runs_centre

POOL = f"{CANONICAL}/CodeSystem/booking-pool"
MEMBERS_SHARE = "members"  # 医联体预留号源
BOOKING = {"proposed", "pending", "booked"}  # what a booking may say; it is stored booked
ATTENDANCE = {"arrived", "checked-in", "fulfilled", "noshow"}  # recorded by the centre
OVER = {"cancelled", "noshow", "fulfilled", "entered-in-error"}

Checker = Callable[[dict[str, Any]], None]  # the references of a resource are known and seen


def write(
    session: Session,
    requester: Requester,
    resource: dict[str, Any],
    current: StoredResource | None,
    check: Checker | None,
) -> StoredResource:
    """Carry out a create (``current`` None) or update of an Appointment."""
    if current is None or current.deleted or current.content is None:
        return _book(session, requester, resource, check)
    return _change(session, requester, resource, current, check)


def _book(
    session: Session, requester: Requester, resource: dict[str, Any], check: Checker | None
) -> StoredResource:
    if resource.get("status") not in BOOKING:
        raise Unprocessable("invalid booking", [("Appointment.status", "a booking is booked")])
    slot, schedule, centre = _admitted(session, requester, resource)
    if check is not None:
        check(resource)
    order = _order(session, requester, resource)
    slot = _claim(session, requester, resource["id"], slot)
    booked = _booked(resource, slot, schedule, centre, order)
    _set_slot(session, slot, "busy")
    _schedule_order(session, order, booked["start"])
    return store_valid(session, booked, requester.org_id)


def _change(
    session: Session,
    requester: Requester,
    resource: dict[str, Any],
    current: StoredResource,
    check: Checker | None,
) -> StoredResource:
    old = current.content or {}
    centre = _centre_of(old)
    runs = centre is not None and runs_centre(session, requester.org_id, centre)
    if requester.org_id != current.owner_org_id:
        if not runs:
            raise NotFound(f"Appointment/{current.id} is not known")
        return _attendance(session, old, resource, current)
    status = resource.get("status")
    if status in ATTENDANCE:
        if runs:  # the lead hospital's own booking
            return _attendance(session, old, resource, current)
        raise Forbidden("only the centre's organization records attendance (no-show)")
    if old.get("status") in OVER:
        raise Conflict(f"Appointment/{current.id} is {old.get('status')}: book anew")
    if check is not None:
        check(resource)
    old_slot, new_slot = _slot_id(old), _slot_id(resource)
    if status == "cancelled":
        _free(session, current.id, old_slot)
        _unschedule_order(session, old)
        cancelled = _kept(resource, old, "slot", "start", "end", "basedOn", "participant")
        return store_valid(session, cancelled, current.owner_org_id)
    if status != old.get("status") and status not in BOOKING:
        raise Unprocessable("invalid change", [("Appointment.status", "booked or cancelled")])
    if new_slot == old_slot:
        kept = _kept(resource, old, "slot", "start", "end", "basedOn", "participant", "status")
        return store_valid(session, kept, current.owner_org_id)
    return _reschedule(session, requester, resource, current)


def _reschedule(
    session: Session, requester: Requester, resource: dict[str, Any], current: StoredResource
) -> StoredResource:
    """Another slot: claim it, then free the old one — in one transaction."""
    old = current.content or {}
    slot, schedule, centre = _admitted(session, requester, resource)
    order = _order(session, requester, old)
    old_slot = _slot_id(old)
    slot = _claim(session, requester, current.id, slot)
    slot_bookings.release(session, current.id, [old_slot] if old_slot else [])
    _free_slot(session, old_slot)
    _set_slot(session, slot, "busy")
    kept = _kept(resource, old, "basedOn", "participant")
    moved = _booked(kept, slot, schedule, centre, order)
    _schedule_order(session, order, moved["start"])
    return store_valid(session, moved, current.owner_org_id)


def _attendance(
    session: Session, old: dict[str, Any], resource: dict[str, Any], current: StoredResource
) -> StoredResource:
    """The centre records whether the patient came; it changes nothing else."""
    status = resource.get("status")
    if status not in ATTENDANCE:
        raise Forbidden("the centre's organization records attendance only; the clinic books")
    if old.get("status") in OVER:
        raise Conflict(f"Appointment/{current.id} is {old.get('status')}")
    recorded = {k: v for k, v in old.items() if k != "meta"} | {"status": status}
    return store_valid(session, recorded, current.owner_org_id)


def cancel_for_order(session: Session, order: StoredResource) -> None:
    """A revoked order's bookings are cancelled and their slots freed (the worker, in the
    transaction that cancels the order's reading Task)."""
    viewer = fhir_viewer(session, order.owner_org_id or "")
    target = [f"ServiceRequest/{order.id}"]
    for booked in referencing(session, "Appointment", "based-on", target, viewer):
        content = booked.content or {}
        if content.get("status") in OVER or not slot_bookings.held_by(session, booked.id):
            continue
        _free(session, booked.id, _slot_id(content))
        reason = {"text": "检查申请已撤销 (order revoked)"}
        cancelled = {k: v for k, v in content.items() if k != "meta"}
        cancelled |= {"status": "cancelled", "cancelationReason": reason}
        store_valid(session, cancelled, booked.owner_org_id)


def delete_check(
    session: Session, resource_type: str, resource_id: str, current: StoredResource | None
) -> None:
    """An Appointment that holds a slot is cancelled, not deleted; a booked Slot stays."""
    if current is None:
        return
    if resource_type == "Appointment" and slot_bookings.held_by(session, resource_id):
        raise Conflict(f"Appointment/{resource_id} holds its slot: cancel it (status cancelled)")
    holder = slot_bookings.holder(session, resource_id) if resource_type == "Slot" else None
    if holder is not None:
        raise Conflict(f"the slot is booked by Appointment/{holder}: cancel that first")


def check_capacity(
    session: Session, requester: Requester, resource: dict[str, Any], current: StoredResource | None
) -> None:
    """A plain write of a Schedule or a Slot: only the centre's organization publishes a
    centre's capacity, and a booked slot stays busy until its appointment is cancelled.  Other
    schedules (a clinic's own, not bookable across the alliance) are plain FHIR data."""
    if resource["resourceType"] == "Schedule":
        centres = _alliance_centres(session, resource.get("actor", []))
        if not all(runs_centre(session, requester.org_id, c) for c in centres):
            raise Forbidden("a centre's Schedule is published by the centre's organization")
        return
    reference = resource.get("schedule", {}).get("reference", "")
    schedule = fhir_store.read(session, "Schedule", reference.removeprefix("Schedule/"))
    if schedule is None or not _alliance_centres(session, _actors(schedule)):
        return
    if schedule.owner_org_id != requester.org_id:
        raise Forbidden("a centre's slots are published by the organization of its Schedule")
    holder = slot_bookings.holder(session, resource.get("id", ""))
    if holder is not None and resource.get("status") != "busy":
        raise Conflict(f"the slot is booked by Appointment/{holder}: cancel that first")


def governs(session: Session, resource: dict[str, Any], current: StoredResource | None) -> bool:
    """Whether a write of this Appointment is a booking's: it names (or named) a centre's slot.
    Other appointments (a clinic's own outpatient visit) are plain FHIR data."""
    before = current.content if current is not None and not current.deleted else None
    return any(
        content is not None and _centre_slot(session, _slot_id(content)) is not None
        for content in (resource, before)
    )


def _centre_slot(
    session: Session, slot_id: str | None
) -> tuple[StoredResource, StoredResource, str] | None:
    """The Slot, its Schedule and the centre it is a slot of (None: not a centre's slot)."""
    slot = fhir_store.read(session, "Slot", slot_id) if slot_id else None
    if slot is None or slot.deleted or slot.content is None:
        return None
    reference = slot.content.get("schedule", {}).get("reference", "")
    schedule = fhir_store.read(session, "Schedule", reference.removeprefix("Schedule/"))
    if schedule is None or schedule.deleted:
        return None
    centres = _alliance_centres(session, _actors(schedule))
    return (slot, schedule, centres[0]) if centres else None


def _admitted(
    session: Session, requester: Requester, resource: dict[str, Any]
) -> tuple[StoredResource, StoredResource, str]:
    """The slot asked for, its Schedule and centre, if the requester may book it (403
    otherwise)."""
    slot_id = _slot_id(resource)
    found = _centre_slot(session, slot_id)
    if found is None:
        raise Unprocessable("invalid booking", [("Appointment.slot", "one centre's Slot")])
    slot, schedule, centre = found
    content = slot.content or {}
    refusal = booking_refusal(session, requester.org_id, centre, _members_share(content))
    if refusal is not None:
        raise Forbidden(refusal)
    if _moment(content.get("start")) <= datetime.now(UTC):
        raise Conflict(f"Slot/{slot_id} has begun")
    return slot, schedule, centre


def _claim(
    session: Session, requester: Requester, appointment: str, slot: StoredResource
) -> StoredResource:
    """Hold the slot for the appointment (409 when another holds it, or it is not free): the
    Slot as it is once held."""
    try:
        slot_bookings.claim(session, slot.id, appointment, requester.org_id)
    except slot_bookings.SlotTaken:
        raise Conflict(f"Slot/{slot.id} is already booked: choose another slot") from None
    held = fhir_store.read(session, "Slot", slot.id)
    if held is None or held.deleted or (held.content or {}).get("status") != "free":
        raise Conflict(f"Slot/{slot.id} is not free: choose another slot")
    return held


def _free(session: Session, appointment: str, slot_id: str | None) -> None:
    slot_bookings.release(session, appointment)
    _free_slot(session, slot_id)


def _free_slot(session: Session, slot_id: str | None) -> None:
    slot = fhir_store.read(session, "Slot", slot_id) if slot_id else None
    if slot is not None and not slot.deleted and slot.content is not None:
        _set_slot(session, slot, "free")


def _set_slot(session: Session, slot: StoredResource, status: str) -> None:
    content = {k: v for k, v in (slot.content or {}).items() if k != "meta"}
    store(session, content | {"status": status}, slot.owner_org_id)


def _order(session: Session, requester: Requester, resource: dict[str, Any]) -> StoredResource:
    """The ServiceRequest the booking is for: one of the requester's own orders."""
    references = [
        r.get("reference", "")
        for r in resource.get("basedOn", [])
        if r.get("reference", "").startswith("ServiceRequest/")
    ]
    if len(references) != 1:
        raise Unprocessable("invalid booking", [("Appointment.basedOn", "the order booked for")])
    order = _read(session, references[0], "ServiceRequest")
    if order.owner_org_id != requester.org_id:
        raise Forbidden("a booking is for an order your organization placed")
    return order


def _booked(
    resource: dict[str, Any],
    slot: StoredResource,
    schedule: StoredResource,
    centre: str,
    order: StoredResource,
) -> dict[str, Any]:
    """The Appointment as booked: the slot's times, the order's patient and the centre."""
    times = slot.content or {}
    participants = [p for p in resource.get("participant", []) if isinstance(p, dict)]
    named = {p.get("actor", {}).get("reference") for p in participants}
    patient = (order.content or {}).get("subject", {}).get("reference")
    wanted = [patient, f"HealthcareService/{centre}"]
    participants += [{"actor": {"reference": r}, "status": "accepted"}
                     for r in wanted if r and r not in named]  # fmt: skip
    booked = {k: v for k, v in resource.items() if k != "meta"} | {
        "status": "booked",
        "slot": [{"reference": f"Slot/{slot.id}"}],
        "start": times["start"],
        "end": times["end"],
        "participant": participants,
    }
    if "serviceType" not in booked and "serviceType" in (schedule.content or {}):
        booked["serviceType"] = schedule.content["serviceType"]  # type: ignore[index]
    return booked


def _schedule_order(session: Session, order: StoredResource, start: str) -> None:
    """The order is scheduled at the booked time (the worklist's SPS start)."""
    content = {k: v for k, v in (order.content or {}).items()
               if k not in ("meta", "occurrencePeriod", "occurrenceTiming")}  # fmt: skip
    _store_order(session, order, content | {"occurrenceDateTime": start})


def _unschedule_order(session: Session, appointment: dict[str, Any]) -> None:
    for based_on in appointment.get("basedOn", []):
        reference = based_on.get("reference", "").removeprefix("ServiceRequest/")
        order = fhir_store.read(session, "ServiceRequest", reference)
        content = order.content if order is not None and not order.deleted else None
        if order and content and content.get("occurrenceDateTime") == appointment.get("start"):
            kept = {k: v for k, v in content.items() if k not in ("meta", "occurrenceDateTime")}
            _store_order(session, order, kept)


def _store_order(session: Session, order: StoredResource, content: dict[str, Any]) -> None:
    try:
        store_valid(session, content, order.owner_org_id)
    except VersionConflict:
        raise Conflict(f"ServiceRequest/{order.id} changed meanwhile: try again") from None


def _read(session: Session, reference: str, kind: str) -> StoredResource:
    resource_id = reference.removeprefix(f"{kind}/") if reference.startswith(f"{kind}/") else ""
    found = fhir_store.read(session, kind, resource_id) if resource_id else None
    if found is None or found.deleted or found.content is None:
        raise Unprocessable("invalid reference", [(kind, f"{reference or kind} is not known")])
    return found


def _kept(resource: dict[str, Any], old: dict[str, Any], *names: str) -> dict[str, Any]:
    """``resource`` with the elements ``names`` as they were (what a client may not change)."""
    kept = {k: v for k, v in resource.items() if k not in ("meta", *names)}
    return kept | {name: old[name] for name in names if name in old}


def _slot_id(resource: dict[str, Any]) -> str | None:
    slots = [s.get("reference", "") for s in resource.get("slot", []) if isinstance(s, dict)]
    if len(slots) != 1 or not slots[0].startswith("Slot/"):
        return None
    return slots[0].removeprefix("Slot/")


def _actors(schedule: StoredResource) -> list[dict[str, Any]]:
    return list((schedule.content or {}).get("actor", []))


def _alliance_centres(session: Session, actors: list[dict[str, Any]]) -> list[str]:
    """The alliance's centres among the actors (``HealthcareService/<centre>``)."""
    return [c for c in _centres(actors) if session.get(Centre, c) is not None]


def _centres(actors: list[dict[str, Any]]) -> list[str]:
    return [
        a.get("reference", "").removeprefix("HealthcareService/")
        for a in actors
        if a.get("reference", "").startswith("HealthcareService/")
    ]


def _centre_of(appointment: dict[str, Any]) -> str | None:
    actors = [p.get("actor", {}) for p in appointment.get("participant", [])]
    return next(iter(_centres(actors)), None)


def _members_share(slot: dict[str, Any]) -> bool:
    return any(
        coding.get("system") == POOL and coding.get("code") == MEMBERS_SHARE
        for category in slot.get("serviceCategory", [])
        for coding in category.get("coding", [])
    )


def _moment(text: str | None) -> datetime:
    moment = datetime.fromisoformat((text or "").replace("Z", "+00:00"))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
