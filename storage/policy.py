"""Who may see what: the one place that decides which organizations' data a requester sees.

An organization sees its own data, and an organization that runs shared centres (the lead
hospital) sees the data of every member its centres serve: that is what reading remotely
("基层检查、上级诊断") needs.  Every query of patient data goes through :func:`visible_orgs`.

FHIR resources are also seen by the organizations they involve (:func:`sharing`, kept as
grants when the resource is written): an order by the organization it is placed with, a task
by its owner and requester, a communication by its recipient, and a result, report or task
that answers an order (``basedOn``/``focus``) by whoever may see that order, so a clinic
reads the report the lead hospital wrote for its request.  :func:`fhir_visible` (SQL) and
:func:`fhir_sees` apply it.

The answer is remembered per database for :data:`CACHE_SECONDS` (every DICOMweb frame asks);
a change of the alliance's centres applies to new requests within that time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from storage.models import Centre, CentreServed, FhirResource, FhirResourceGrant, Organization

CACHE_SECONDS = 10.0
_cache: dict[tuple[int, str], tuple[float, frozenset[str]]] = {}
_lock = threading.Lock()


def visible_orgs(session: Session, org_id: str) -> set[str]:
    key = (id(session.get_bind()), org_id)
    now = time.monotonic()
    with _lock:
        cached = _cache.get(key)
    if cached is not None and now - cached[0] < CACHE_SECONDS:
        return set(cached[1])
    served = session.scalars(
        select(CentreServed.org_id)
        .join(Centre, Centre.id == CentreServed.centre_id)
        .where(Centre.org_id == org_id)
    )
    orgs = frozenset({org_id, *served})
    with _lock:
        _cache[key] = (now, orgs)
    return set(orgs)


# Elements naming the organizations an order, task or message is placed with or comes from.
_PARTIES = ("performer", "owner", "requester", "recipient")
# Elements linking a result, report or task to the order it answers.
_ANSWERS = ("basedOn", "focus")


def _references(value: Any) -> Iterator[str]:
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, dict) and isinstance(item.get("reference"), str):
            yield item["reference"]


def sharing(session: Session, resource: dict[str, Any]) -> set[str]:
    """The organizations besides the owner that may see ``resource``."""
    orgs = {
        reference.removeprefix("Organization/")
        for key in _PARTIES
        for reference in _references(resource.get(key))
        if reference.startswith("Organization/")
    }
    orders = [
        reference.removeprefix("ServiceRequest/")
        for key in _ANSWERS
        for reference in _references(resource.get(key))
        if reference.startswith("ServiceRequest/")
    ]
    if orders:
        orgs.update(
            owner
            for owner in session.scalars(
                select(FhirResource.owner_org_id).where(
                    FhirResource.resource_type == "ServiceRequest", FhirResource.id.in_(orders)
                )
            )
            if owner is not None
        )
        orgs.update(
            session.scalars(
                select(FhirResourceGrant.org_id).where(
                    FhirResourceGrant.resource_type == "ServiceRequest",
                    FhirResourceGrant.resource_id.in_(orders),
                )
            )
        )
    return orgs


def fhir_visible(orgs: set[str], table: Any = FhirResource) -> ColumnElement[bool]:
    """The SQL condition: a row of ``table`` (resources or their versions) that ``orgs`` see."""
    granted = (
        select(FhirResourceGrant.org_id)
        .where(
            FhirResourceGrant.resource_type == table.resource_type,
            FhirResourceGrant.resource_id == table.id,
            FhirResourceGrant.org_id.in_(orgs),
        )
        .exists()
    )
    return or_(table.owner_org_id.is_(None), table.owner_org_id.in_(orgs), granted)


def fhir_sees(
    session: Session, resource_type: str, resource_id: str, owner: str | None, orgs: set[str]
) -> bool:
    if owner is None or owner in orgs:
        return True
    return (
        session.scalar(
            select(FhirResourceGrant.org_id)
            .where(
                FhirResourceGrant.resource_type == resource_type,
                FhirResourceGrant.resource_id == resource_id,
                FhirResourceGrant.org_id.in_(orgs),
            )
            .limit(1)
        )
        is not None
    )


def known_organizations(session: Session, targets: list[str]) -> set[str]:
    """The alliance's organizations (the registry's ids) among ``Organization/id`` targets:
    FHIR resources may name them without an Organization resource being posted."""
    ids = [t.removeprefix("Organization/") for t in targets if t.startswith("Organization/")]
    if not ids:
        return set()
    return set(session.scalars(select(Organization.id).where(Organization.id.in_(ids))))
