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
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, literal, or_, select
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
from storage.policy import Viewer, fhir_visible, fhir_visible_bound, viewer_params

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
    params = _params(narrowing, viewer.org_id)
    narrowed = [
        kind
        for kind, asked in (
            ("accessions", narrowing.accessions),
            ("patients", narrowing.patient_ids),
            ("window", narrowing.start or narrowing.end),
        )
        if asked
    ]
    if narrowed:
        # The narrowest list of ids drives (an accession, a patient, then a window of days),
        # fetched first: a plain list of ids is cheaper to bind than a subquery to build.  Each
        # candidate is checked against the others through the index tables' per-resource index.
        params["ids"] = list(session.scalars(_narrowing(narrowed[0]), params))
        if not params["ids"]:
            return []
    statement = _orders(category, bool(narrowed), tuple(narrowed[1:]), bool(narrowing.modalities))
    rows = [
        (order_id, content)
        for order_id, content in session.execute(statement, params)
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


# The statements below are built once per shape and given their values when they run: a
# modality asks for its day list every few seconds, and building them anew cost more than
# SQLite took to answer them.


def _params(narrowing: Narrowing, owner: str) -> dict[str, Any]:
    low = narrowing.start.strftime(_ISO) if narrowing.start else "0000-01-01T00:00:00"
    high = narrowing.end.strftime(_ISO) if narrowing.end else "9999-12-31T23:59:59"
    return {
        "owner": owner,
        "accessions": list(narrowing.accessions),
        "patient_ids": list(narrowing.patient_ids),
        "modalities": list(narrowing.modalities),
        "low": low,
        "high": high,
        # a value of a day or less starts at most a day before the window
        "earliest": (narrowing.start - _DAY).strftime(_ISO) if narrowing.start else low,
    }


@lru_cache(maxsize=64)
def _orders(
    category: tuple[str, str], driven: bool, checks: tuple[str, ...], modalities: bool
) -> Select[Any]:
    """The owner's current orders (among the driving ``ids``), each checked for ``checks``,
    being active, of ``category`` and (``modalities``) of one of the modalities asked."""
    plain = [_narrowing(kind) for kind in checks]
    plain += [_tokens("status", ["active"]), _tokens("category", [category[1]], category[0])]
    if modalities:  # a check, never the driver: a modality has orders of years
        plain.append(_modalities())
    statement = select(FhirResource.id, FhirResource.content).where(
        FhirResource.resource_type == ORDER,
        FhirResource.owner_org_id == bindparam("owner"),
        FhirResource.deleted.is_(False),
    )
    if driven:
        statement = statement.where(FhirResource.id.in_(bindparam("ids", expanding=True)))
    return statement.where(
        *(check.where(check.selected_columns[0] == FhirResource.id).exists() for check in plain)
    ).order_by(FhirResource.id)


@lru_cache(maxsize=8)
def _narrowing(kind: str) -> Select[Any]:
    """The ids of the orders with one of the accession numbers asked, of a patient asked, or
    scheduled in the window asked."""
    if kind == "accessions":
        return _tokens("identifier", bindparam("accessions", expanding=True))
    if kind == "patients":
        return _of_patients()
    return _scheduled()


def _tokens(param: str, codes: Any, system: str | None = None) -> Select[Any]:
    condition = [FhirTokenIndex.code.in_(codes)]
    if system is not None:
        condition.append(FhirTokenIndex.system == system)
    return select(FhirTokenIndex.resource_id).where(
        FhirTokenIndex.resource_type == ORDER, FhirTokenIndex.param == param, *condition
    )


def _modalities() -> Select[Any]:
    return select(FhirTokenIndex.resource_id).where(
        FhirTokenIndex.resource_type == ORDER,
        FhirTokenIndex.param.in_(("code", "category")),
        FhirTokenIndex.system == DCM,
        FhirTokenIndex.code.in_(bindparam("modalities", expanding=True)),
    )


def _scheduled() -> Select[Any]:
    """Orders with an occurrence or authoring time in the window: a range of the date index."""
    table = FhirDateIndex
    low, high = bindparam("low"), bindparam("high")
    overlaps: ColumnElement[bool] = or_(
        and_(
            table.wide.is_(False), table.low.between(bindparam("earliest"), high), table.high >= low
        ),
        and_(table.wide.is_(True), table.low <= high, table.high >= low),
    )
    return select(table.resource_id).where(
        table.resource_type == ORDER, table.param.in_(("occurrence", "authored")), overlaps
    )


def _of_patients() -> Select[Any]:
    patients = select(FhirTokenIndex.resource_id).where(
        FhirTokenIndex.resource_type == "Patient",
        FhirTokenIndex.param == "identifier",
        FhirTokenIndex.code.in_(bindparam("patient_ids", expanding=True)),
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


def _finished_referrers() -> Select[Any]:
    """The orders among ``targets`` whose reading Task is over or whose exam was completed.
    Driven by the orders' references (a few per order), each referrer's status checked in its
    per-resource index: never a walk over every finished Task of the alliance."""
    reference, status = FhirReferenceIndex, FhirTokenIndex
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
    return select(reference.target).where(
        reference.resource_type.in_(("Task", "Procedure")),
        reference.param == "based-on",
        reference.target.in_(bindparam("targets", expanding=True)),
        finished,
    )


_FINISHED = _finished_referrers()


def _over(session: Session, order_ids: list[str]) -> set[str]:
    if not order_ids:
        return set()
    targets = [f"{ORDER}/{order_id}" for order_id in order_ids]
    return {
        target.removeprefix(f"{ORDER}/")
        for target in session.scalars(_FINISHED, {"targets": targets})
    }


def _subject(order: dict[str, Any]) -> str:
    return str((order.get("subject") or {}).get("reference", ""))


@lru_cache(maxsize=2)
def _visible_patients(denied: bool) -> Select[Any]:
    return select(FhirResource.id, FhirResource.content).where(
        FhirResource.resource_type == "Patient",
        FhirResource.id.in_(bindparam("subjects", expanding=True)),
        FhirResource.deleted.is_(False),
        fhir_visible_bound(FhirResource, denied=denied),
    )


def _patients(
    session: Session, viewer: Viewer, orders: list[dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    subjects = {_subject(order) for order in orders}
    ids = sorted(s.removeprefix("Patient/") for s in subjects if s.startswith("Patient/"))
    if not ids:
        return {}
    statement = _visible_patients(bool(viewer.denied_patients))
    rows = session.execute(statement, {"subjects": ids, **viewer_params(viewer)})
    return {f"Patient/{patient_id}": content for patient_id, content in rows}


def with_study_uids(session: Session, orders: list[ScheduledOrder]) -> list[ScheduledOrder]:
    """``orders`` each with its Study Instance UID, the missing ones made (a write)."""
    uids = study_uids(session, [o.order["id"] for o in orders if not o.study_uid])
    return [replace(o, study_uid=o.study_uid or uids[o.order["id"]]) for o in orders]


_KNOWN_UIDS = select(WorklistStudy.order_id, WorklistStudy.study_uid).where(
    WorklistStudy.order_id.in_(bindparam("orders", expanding=True))
)


def _known_uids(session: Session, order_ids: list[str]) -> dict[str, str]:
    return {order_id: uid for order_id, uid in session.execute(_KNOWN_UIDS, {"orders": order_ids})}


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
