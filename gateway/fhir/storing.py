"""The gateway's one way to keep FHIR: a validated resource with the rows it is found by, in
the caller's transaction (REST, Bundles, operations, the worker publishing studies and the
directory, the reading workflow); subscriptions are told by the store's ``fhir.changed``."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from fhir_profiles.search_values import extract
from fhir_profiles.validation import validate
from gateway.errors import Unprocessable
from storage.fhir import IndexRows, StoredResource, index_rows
from storage.fhir import store as fhir_store


def store(
    session: Session,
    resource: dict[str, Any],
    owner_org_id: str | None,
    if_match: int | None = None,
    *,
    new: bool = False,
    index: IndexRows | None = None,
) -> StoredResource:
    """Keep a validated resource with the rows it is found by (``index``: made already) —
    subscriptions are told: the gateway's one way to store FHIR (REST, Bundles, the worker
    publishing studies)."""
    rows = index_rows(resource, extract(resource)) if index is None else index
    return fhir_store.put(session, resource, owner_org_id, if_match=if_match, index=rows, new=new)


def store_if_changed(
    session: Session, resource: dict[str, Any], owner_org_id: str | None
) -> StoredResource | None:
    """:func:`store`, unless the current version already says the same (None then): for what
    the server itself keeps up to date (published studies, its own terminology)."""
    current = fhir_store.read(session, resource["resourceType"], resource["id"])
    content = current.content if current is not None and not current.deleted else None
    if content is not None and {k: v for k, v in content.items() if k != "meta"} == resource:
        return None
    return store(session, resource, owner_org_id)


def store_valid(
    session: Session, resource: dict[str, Any], owner_org_id: str | None, profile: str | None = None
) -> StoredResource:
    """:func:`store` what the server composed (from its own data and a client's), checked as
    every write is — against R4 and ``profile`` — 422 naming the problems otherwise."""
    problems = validate(resource, resource["resourceType"], [profile] if profile else [])
    if problems:
        raise Unprocessable(
            f"{resource['resourceType']} would not be valid",
            [(p.expression, p.message) for p in problems],
        )
    return store(session, resource, owner_org_id)
