"""The modality worklist's orders, read from the FHIR store's index (never a scan of JSON).

A scheduled order is an ``active`` ServiceRequest with intent ``order``, the caller's exam
category (imaging) and an accession number (identifier type ACSN: the worker gives one to an
order that has none), placed (owned) by the organization that asks, whose reading Task is not
over (completed, cancelled, failed, rejected, entered in error) and whose exam was not completed
yet (no ``completed`` Procedure ``basedOn`` it).  The query narrows in SQL by what the modality
asked that the index holds (a window of scheduled times, accession numbers, patient
identifiers); the caller matches the rest exactly.  Each order served gets its Study Instance
UID once (``worklist_studies``), so the images the modality makes are the order's study.

A scheduled time is the order's ``occurrence`` (a dateTime or a Period's start), else when it
was ``authored``: both are indexed as UTC ranges, and the window is compared with either.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, literal, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.exam_codes import DCM
from storage.fhir.store import StoredResource, as_stored
from storage.models import (
    FhirDateIndex,
    FhirReferenceIndex,
    FhirResource,
    FhirTokenIndex,
    WorklistStudy,
)
from storage.policy import Viewer, fhir_visible

ORDER = "ServiceRequest"
ACCESSION_TYPE = "ACSN"  # identifier type (v2-0203) of an accession number
TASK_OVER = ("completed", "cancelled", "failed", "rejected", "entered-in-error")
_DAY = timedelta(days=1)
_ISO = "%Y-%m-%dT%H:%M:%S"


@dataclass(frozen=True, slots=True)
class ScheduledOrder:
    order: dict[str, Any]  # the ServiceRequest as stored
    patient: dict[str, Any]  # its subject
    accession: str | None
    study_uid: str  # "" until made (``make_uids=False``: see :func:`with_study_uids`)


@dataclass(frozen=True, slots=True)
class Narrowing:
    """What the index can narrow by: scheduled between ``start`` and ``end`` (UTC, naive),
    one of these accession numbers, a patient with one of these identifier values, a code or
    category coded as one of these DICOM modalities."""

    start: datetime | None = None
    end: datetime | None = None
    accessions: tuple[str, ...] = ()
    patient_ids: tuple[str, ...] = ()
    modalities: tuple[str, ...] = ()


def accession_of(order: dict[str, Any]) -> str | None:
    for identifier in order.get("identifier", []):
        codings = (identifier.get("type") or {}).get("coding", [])
        if any(c.get("code") == ACCESSION_TYPE for c in codings) and identifier.get("value"):
            return str(identifier["value"])
    return None


def scheduled_orders(
    session: Session,
    viewer: Viewer,
    category: tuple[str, str],
    narrowing: Narrowing,
    *,
    limit: int,
    make_uids: bool = True,
) -> list[ScheduledOrder]:
    """The scheduled orders ``viewer.org_id`` placed, at most ``limit``, oldest id first;
    without ``make_uids`` (a read-only session) an order asked for the first time has no Study
    Instance UID yet."""
    narrowed = [
        _tokens("identifier", list(narrowing.accessions)) if narrowing.accessions else None,
        _of_patients(narrowing.patient_ids) if narrowing.patient_ids else None,
        _scheduled(narrowing) if narrowing.start or narrowing.end else None,
    ]
    checks = [n for n in narrowed if n is not None]
    plain = [_tokens("status", ["active"]), _tokens("category", [category[1]], category[0])]
    if narrowing.modalities:  # a check, never the driver: a modality has orders of years
        plain.append(_modalities(narrowing.modalities))
    statement = select(FhirResource.id, FhirResource.content).where(
        FhirResource.resource_type == ORDER,
        FhirResource.owner_org_id == viewer.org_id,
        FhirResource.deleted.is_(False),
    )
    if checks:
        # The narrowest list of ids drives (an accession, a patient, then a window of days),
        # fetched first: a plain list of ids is cheaper to bind than a subquery to build.  Each
        # candidate is checked against the others through the index tables' per-resource index.
        driver, *others = checks
        plain = others + plain
        ids = list(session.scalars(driver))
        if not ids:
            return []
        statement = statement.where(FhirResource.id.in_(ids))
    statement = statement.where(
        *(check.where(check.selected_columns[0] == FhirResource.id).exists() for check in plain)
    )
    rows = [
        (order_id, content)
        for order_id, content in session.execute(statement.order_by(FhirResource.id))
        if content.get("intent") == "order" and accession_of(content) is not None
    ]
    over = _over(session, [order_id for order_id, _ in rows])
    rows = [(order_id, content) for order_id, content in rows if order_id not in over][:limit]
    patients = _patients(session, viewer, [content for _, content in rows])
    order_ids = [order_id for order_id, _ in rows]
    uids = study_uids(session, order_ids) if make_uids else _known_uids(session, order_ids)
    return [
        ScheduledOrder(content, patient, accession_of(content), uids.get(order_id, ""))
        for order_id, content in rows
        if (patient := patients.get(_subject(content))) is not None
    ]


def _tokens(param: str, codes: list[str], system: str | None = None) -> Select[Any]:
    condition = [FhirTokenIndex.code.in_(codes)]
    if system is not None:
        condition.append(FhirTokenIndex.system == system)
    return select(FhirTokenIndex.resource_id).where(
        FhirTokenIndex.resource_type == ORDER, FhirTokenIndex.param == param, *condition
    )


def _modalities(modalities: tuple[str, ...]) -> Select[Any]:
    return select(FhirTokenIndex.resource_id).where(
        FhirTokenIndex.resource_type == ORDER,
        FhirTokenIndex.param.in_(("code", "category")),
        FhirTokenIndex.system == DCM,
        FhirTokenIndex.code.in_(modalities),
    )


def _scheduled(narrowing: Narrowing) -> Select[Any]:
    """Orders with an occurrence or authoring time in the window: a range of the date index
    (a value of a day or less starts at most a day before the window)."""
    table = FhirDateIndex
    low = narrowing.start.strftime(_ISO) if narrowing.start else "0000-01-01T00:00:00"
    high = narrowing.end.strftime(_ISO) if narrowing.end else "9999-12-31T23:59:59"
    earliest = (narrowing.start - _DAY).strftime(_ISO) if narrowing.start else low
    overlaps: ColumnElement[bool] = or_(
        and_(table.wide.is_(False), table.low.between(earliest, high), table.high >= low),
        and_(table.wide.is_(True), table.low <= high, table.high >= low),
    )
    return select(table.resource_id).where(
        table.resource_type == ORDER, table.param.in_(("occurrence", "authored")), overlaps
    )


def _of_patients(patient_ids: tuple[str, ...]) -> Select[Any]:
    patients = select(FhirTokenIndex.resource_id).where(
        FhirTokenIndex.resource_type == "Patient",
        FhirTokenIndex.param == "identifier",
        FhirTokenIndex.code.in_(patient_ids),
    )
    subjects = patients.with_only_columns(
        (literal("Patient/") + FhirTokenIndex.resource_id).label("target")
    ).subquery("subjects")
    reference = FhirReferenceIndex
    return (
        select(reference.resource_id)
        .join(subjects, reference.target == subjects.c.target)
        .where(reference.resource_type == ORDER, reference.param == "subject")
    )


def _over(session: Session, order_ids: list[str]) -> set[str]:
    """The orders among these whose reading Task is over or whose exam was completed."""
    if not order_ids:
        return set()
    reference, status = FhirReferenceIndex, FhirTokenIndex
    targets = [f"{ORDER}/{order_id}" for order_id in order_ids]
    # Driven by the orders' references (a few per order), each referrer's status checked in
    # its per-resource index: never a walk over every finished Task of the alliance.
    finished = (
        select(status.resource_id)
        .where(
            status.resource_type == reference.resource_type,
            status.resource_id == reference.resource_id,
            status.param == "status",
            or_(
                and_(reference.resource_type == "Task", status.code.in_(TASK_OVER)),
                and_(reference.resource_type == "Procedure", status.code == "completed"),
            ),
        )
        .exists()
    )
    statement = select(reference.target).where(
        reference.resource_type.in_(("Task", "Procedure")),
        reference.param == "based-on",
        reference.target.in_(targets),
        finished,
    )
    return {target.removeprefix(f"{ORDER}/") for target in session.scalars(statement)}


def _subject(order: dict[str, Any]) -> str:
    return str((order.get("subject") or {}).get("reference", ""))


def _patients(
    session: Session, viewer: Viewer, orders: list[dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    subjects = {_subject(order) for order in orders}
    ids = {s.removeprefix("Patient/") for s in subjects if s.startswith("Patient/")}
    if not ids:
        return {}
    rows = session.execute(
        select(FhirResource.id, FhirResource.content).where(
            FhirResource.resource_type == "Patient",
            FhirResource.id.in_(ids),
            FhirResource.deleted.is_(False),
            fhir_visible(viewer),
        )
    )
    return {f"Patient/{patient_id}": content for patient_id, content in rows}


def with_study_uids(session: Session, orders: list[ScheduledOrder]) -> list[ScheduledOrder]:
    """``orders`` each with its Study Instance UID, the missing ones made (a write)."""
    uids = study_uids(session, [o.order["id"] for o in orders if not o.study_uid])
    return [replace(o, study_uid=o.study_uid or uids[o.order["id"]]) for o in orders]


def _known_uids(session: Session, order_ids: list[str]) -> dict[str, str]:
    statement = select(WorklistStudy.order_id, WorklistStudy.study_uid).where(
        WorklistStudy.order_id.in_(order_ids)
    )
    return {order_id: uid for order_id, uid in session.execute(statement)}


def study_uids(session: Session, order_ids: list[str]) -> dict[str, str]:
    """Each order's Study Instance UID, made (``2.25.`` + a random UUID) the first time; when
    two associations make one for the same order at once, the first kept wins."""
    if not order_ids:
        return {}
    known = _known_uids(session, order_ids)
    missing = {o: f"2.25.{uuid.uuid4().int}" for o in order_ids if o not in known}
    if not missing:
        return known
    try:
        with session.begin_nested():
            session.add_all(WorklistStudy(order_id=o, study_uid=u) for o, u in missing.items())
        return known | missing
    except IntegrityError:
        pass  # another association made some of them first: keep theirs
    for order_id, uid in missing.items():
        try:
            with session.begin_nested():
                session.add(WorklistStudy(order_id=order_id, study_uid=uid))
            known[order_id] = uid
        except IntegrityError:
            known[order_id] = session.scalars(
                select(WorklistStudy.study_uid).where(WorklistStudy.order_id == order_id)
            ).one()
    return known


def order_by_accession(session: Session, viewer: Viewer, accession: str) -> StoredResource | None:
    """The current order ``viewer`` sees whose accession number (identifier type ACSN) this is."""
    rows = session.scalars(
        select(FhirResource)
        .where(
            FhirResource.resource_type == ORDER,
            FhirResource.deleted.is_(False),
            FhirResource.id.in_(_tokens("identifier", [accession])),
            fhir_visible(viewer),
        )
        .order_by(FhirResource.id)
    )
    return next((as_stored(row) for row in rows if accession_of(row.content) == accession), None)
