"""Keep FHIR resources: versions, history, ``meta`` set by the store.

Every write adds a row to ``fhir_resource_versions`` and moves ``fhir_resources`` to it, in
the caller's transaction.  A write that names the version it expects (``If-Match``) fails with
:class:`VersionConflict` when another write came first.  Validation is the caller's job (the
gateway validates before it writes); this module keeps what it is given.
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib.metadata import entry_points
from typing import Any, Protocol

from sqlalchemy import Row, bindparam, or_, select, update
from sqlalchemy import delete as sql_delete
from sqlalchemy.orm import Session

from storage.db import add_rows, execute_plain
from storage.fhir.index_rows import INDEX_TABLES, IndexRows
from storage.models import (
    FhirResource,
    FhirResourceGrant,
    FhirResourceVersion,
    FhirStringIndex,
    FhirTokenIndex,
    utcnow,
)
from storage.outbox import enqueue
from storage.policy import Viewer, fhir_visible, kept_shares, remember_order, sharing

# A write of a type some Subscription is on enqueues this (in the writer's transaction): the
# worker matches it against those Subscriptions.
CHANGED_TOPIC = "fhir.changed"
# The statuses of a Subscription that is told of changes.
SUBSCRIBED = ("requested", "active")
LISTENERS = "yilian.fhir_listeners"

# Versions are 32-bit integers in the database (PostgreSQL ``integer``).
MAX_VERSION = 2**31 - 1


class Listener(Protocol):
    """What a service registers (entry-point group ``yilian.fhir_listeners``, named for the
    outbox topic) to have its own event for the writes it cares about (the lab bridge: lab
    orders to send to a LIS)."""

    max_attempts: int

    def wants(self, resource: dict[str, Any]) -> bool: ...


@cache
def _listeners() -> tuple[tuple[str, Listener], ...]:
    return tuple((ep.name, ep.load()) for ep in entry_points(group=LISTENERS))


_TABLES = {table.__tablename__: table for table in INDEX_TABLES}


class VersionConflict(Exception):
    """The resource is not at the version the writer expected."""


@dataclass(frozen=True, slots=True)
class StoredResource:
    resource_type: str
    id: str
    version_id: int
    last_updated: datetime
    deleted: bool
    owner_org_id: str | None
    content: dict[str, Any] | None


def as_stored(row: FhirResource | FhirResourceVersion | Row[Any]) -> StoredResource:
    return StoredResource(
        row.resource_type,
        row.id,
        row.version_id,
        row.last_updated,
        row.deleted,
        row.owner_org_id,
        row.content,
    )


def instant(moment: datetime) -> str:
    """A FHIR ``instant`` (UTC, milliseconds)."""
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_id() -> str:
    """A fresh resource id: a UUID in the version 7 layout (48 bits of Unix milliseconds, then
    74 random bits), so ids written together sort together and every index keyed on them grows
    at its end instead of dirtying a random page per insert — what keeps bulk writes into a
    large database fast."""
    value = (time.time_ns() // 1_000_000) << 80 | int.from_bytes(os.urandom(10))
    value = value & ~(0xF << 76) | 0x7 << 76  # version 7
    value = value & ~(0x3 << 62) | 0x2 << 62  # RFC 4122 variant
    return str(uuid.UUID(int=value))


# One row by its key, as plain columns (no ORM object: about half of ``Session.get``'s cost).
_CURRENT = select(FhirResource.__table__).where(
    FhirResource.resource_type == bindparam("type"), FhirResource.id == bindparam("id")
)
_VERSION = select(FhirResourceVersion.__table__).where(
    FhirResourceVersion.resource_type == bindparam("type"),
    FhirResourceVersion.id == bindparam("id"),
    FhirResourceVersion.version_id == bindparam("version"),
)


def read(session: Session, resource_type: str, resource_id: str) -> StoredResource | None:
    key = {"type": resource_type, "id": resource_id}
    row = execute_plain(session, _CURRENT, key).first()
    return as_stored(row) if row is not None else None


def vread(
    session: Session, resource_type: str, resource_id: str, version_id: int
) -> StoredResource | None:
    if not 0 < version_id <= MAX_VERSION:
        return None  # no such version could ever have been written
    key = {"type": resource_type, "id": resource_id, "version": version_id}
    row = execute_plain(session, _VERSION, key).first()
    return as_stored(row) if row is not None else None


def history(session: Session, resource_type: str, resource_id: str) -> list[StoredResource]:
    rows = session.scalars(
        select(FhirResourceVersion)
        .where(
            FhirResourceVersion.resource_type == resource_type,
            FhirResourceVersion.id == resource_id,
        )
        .order_by(FhirResourceVersion.version_id.desc())
    )
    return [as_stored(row) for row in rows]


def put(
    session: Session,
    resource: dict[str, Any],
    owner_org_id: str | None,
    *,
    if_match: int | None = None,
    index: IndexRows | None = None,
    new: bool = False,
) -> StoredResource:
    """Create the resource under its ``id`` or make it the next version of that id, with the
    rows it is found by (:func:`index_rows`; replacing the previous version's), and tell
    subscriptions (:data:`CHANGED_TOPIC`).  ``new``: the caller has just given the resource a
    fresh id, so there is no earlier version to look for.  Validation is the caller's: every
    service validates with ``fhir_profiles`` and extracts the search values with it."""
    resource_type, resource_id = resource["resourceType"], resource["id"]
    current = None
    if not new:
        key = (FhirResource.resource_type == resource_type, FhirResource.id == resource_id)
        current = session.scalar(select(FhirResource.version_id).where(*key))
    if if_match is not None and current != if_match:
        raise VersionConflict(f"{resource_type}/{resource_id} is not at version {if_match}")
    version = 1 if current is None else current + 1
    now = utcnow()
    # A new dict with a new meta: the caller's resource (and anything it shares) is untouched.
    meta = {**resource.get("meta", {}), "versionId": str(version), "lastUpdated": instant(now)}
    content = {**resource, "meta": meta}
    row = {
        "resource_type": resource_type,
        "id": resource_id,
        "version_id": version,
        "last_updated": now,
        "deleted": False,
        "owner_org_id": owner_org_id,
        "content": content,
    }
    add_rows(session, FhirResourceVersion, [row])
    if current is None:
        add_rows(session, FhirResource, [row])
    else:
        moved = session.execute(
            update(FhirResource).where(*key, FhirResource.version_id == current).values(**row)
        )
        if moved.rowcount != 1:
            raise VersionConflict(f"{resource_type}/{resource_id} changed while being written")
        _drop_index(session, resource_type, resource_id)
        session.execute(
            sql_delete(FhirResourceGrant).where(
                FhirResourceGrant.resource_type == resource_type,
                FhirResourceGrant.resource_id == resource_id,
            )
        )
    for table, rows in (index or {}).items():
        add_rows(session, _TABLES[table], rows)
    grants = sharing(session, resource) - {owner_org_id}
    if current is not None:  # what a referral shared stays shared (storage.policy)
        grants |= kept_shares(session, resource_type, resource_id) - {owner_org_id}
    if resource_type == "ServiceRequest":
        remember_order(session, resource_id, grants | ({owner_org_id} - {None}))
    if grants:
        add_rows(
            session,
            FhirResourceGrant,
            [
                {"resource_type": resource_type, "resource_id": resource_id, "org_id": org}
                for org in sorted(grants)
            ],
        )
    if resource_type == "Subscription":
        session.info.pop(_SUBSCRIBED_TYPES, None)  # read again by the next change
        session.info.pop(_SUBSCRIBED_ON, None)
    else:
        payload = {"type": resource_type, "id": resource_id, "version": version}
        if _subscribed(session, resource_type):
            enqueue(session, CHANGED_TOPIC, payload)
        for topic, listener in _listeners():
            if listener.wants(content):
                enqueue(session, topic, payload, max_attempts=listener.max_attempts)
    return StoredResource(resource_type, resource_id, version, now, False, owner_org_id, content)


def _drop_index(session: Session, resource_type: str, resource_id: str) -> None:
    for table in INDEX_TABLES:
        session.execute(
            sql_delete(table).where(
                table.resource_type == resource_type, table.resource_id == resource_id
            )
        )


def delete(session: Session, resource_type: str, resource_id: str) -> StoredResource | None:
    """Mark the resource deleted (a new, empty version; history keeps every earlier one).
    None when there is nothing to delete."""
    current = session.get(FhirResource, (resource_type, resource_id))
    if current is None or current.deleted:
        return None
    version, now = current.version_id + 1, utcnow()
    session.add(
        FhirResourceVersion(
            resource_type=resource_type,
            id=resource_id,
            version_id=version,
            last_updated=now,
            deleted=True,
            owner_org_id=current.owner_org_id,
            content=None,
        )
    )
    current.version_id, current.last_updated, current.deleted = version, now, True
    _drop_index(session, resource_type, resource_id)
    session.flush()
    return as_stored(current)


def type_history(
    session: Session,
    resource_type: str,
    viewer: Viewer,
    *,
    since: datetime | None = None,
    count: int = 100,
) -> list[StoredResource]:
    """Every version of the type's visible resources, newest first."""
    statement = select(FhirResourceVersion).where(
        FhirResourceVersion.resource_type == resource_type,
        fhir_visible(viewer, FhirResourceVersion),
    )
    if since is not None:
        statement = statement.where(FhirResourceVersion.last_updated >= since)
    rows = session.scalars(
        statement.order_by(
            FhirResourceVersion.last_updated.desc(), FhirResourceVersion.id.desc()
        ).limit(count)
    )
    return [as_stored(row) for row in rows]


# The Subscriptions in some statuses whose criteria name a resource type, found through
# their index (built once: every change of every resource asks).
_SUBSCRIPTIONS_ON = select(FhirResource).where(
    FhirResource.resource_type == "Subscription",
    FhirResource.deleted.is_(False),
    FhirResource.id.in_(
        FhirStringIndex.ids(
            "Subscription",
            "criteria",
            or_(
                FhirStringIndex.value == bindparam("named"),
                FhirStringIndex.value.like(bindparam("queried")),
            ),
        )
    ),
    FhirResource.id.in_(
        FhirTokenIndex.ids(
            "Subscription", "status", FhirTokenIndex.code.in_(bindparam("statuses", expanding=True))
        )
    ),
)


# The criteria (lower-cased in the index) of every Subscription told of changes.
_SUBSCRIBED_CRITERIA = (
    select(FhirStringIndex.value)
    .distinct()
    .where(
        FhirStringIndex.resource_type == "Subscription",
        FhirStringIndex.param == "criteria",
        FhirStringIndex.resource_id.in_(
            FhirTokenIndex.ids("Subscription", "status", FhirTokenIndex.code.in_(SUBSCRIBED))
        ),
    )
)
# What a transaction has read of the Subscriptions (forgotten when it writes one).
_SUBSCRIBED_TYPES, _SUBSCRIBED_ON = "fhir.subscribed_types", "fhir.subscribed_on"


def _subscribed(session: Session, resource_type: str) -> bool:
    """Whether a Subscription told of changes may be on ``resource_type``: the types their
    criteria name, read once per transaction (one statement before its first write's rows are
    sent, not one per type between them).  A write of a type none is on enqueues no
    :data:`CHANGED_TOPIC`: a Subscription is told of the changes committed after it was (on
    PostgreSQL, a change whose transaction had read them before a new Subscription on its type
    was committed may go untold)."""
    types = session.info.get(_SUBSCRIBED_TYPES)
    if types is None:
        criteria = session.scalars(_SUBSCRIBED_CRITERIA)
        types = session.info[_SUBSCRIBED_TYPES] = {c.partition("?")[0] for c in criteria}
    return resource_type.lower() in types


def subscribed_on(session: Session, resource_type: str) -> list[StoredResource]:
    """The current Subscriptions told of changes (:data:`SUBSCRIBED`) whose criteria start with
    ``resource_type`` (the index holds criteria lower-cased; the caller checks the exact type):
    a change reads these, not every Subscription of the alliance.  Read once per transaction
    (the worker's batch of changes holds many of a few types)."""
    found: dict[str, list[StoredResource]] = session.info.setdefault(_SUBSCRIBED_ON, {})
    if resource_type not in found:
        named = resource_type.lower()  # letters only: nothing LIKE would read as a wildcard
        rows = session.scalars(
            _SUBSCRIPTIONS_ON,
            {"named": named, "queried": f"{named}?%", "statuses": list(SUBSCRIBED)},
        )
        found[resource_type] = [as_stored(row) for row in rows]
    return found[resource_type]
