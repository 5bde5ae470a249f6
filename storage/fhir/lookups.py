"""Direct reads of the FHIR store by identifier and by reference, limited to what the
requester may see: the lookups behind ``_include``, ``_revinclude``, ``$everything``,
conditional writes and the lab bridge's matching of patients and orders by identifier."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import Select, and_, bindparam, or_, select
from sqlalchemy.orm import Session

from storage.fhir.store import StoredResource, as_stored
from storage.models import FhirReferenceIndex, FhirResource, FhirTokenIndex
from storage.policy import Viewer, fhir_visible, fhir_visible_bound, viewer_params


def references(
    session: Session, resource_type: str, resource_ids: list[str], param: str
) -> list[str]:
    """The targets (``Type/id``) of ``param`` in the given resources (for ``_include``)."""
    if not resource_ids:
        return []
    return list(
        session.scalars(
            select(FhirReferenceIndex.target)
            .where(
                FhirReferenceIndex.resource_type == resource_type,
                FhirReferenceIndex.resource_id.in_(resource_ids),
                FhirReferenceIndex.param == param,
            )
            .distinct()
        )
    )


def by_identifier(
    session: Session,
    resource_type: str,
    system: str | None,
    value: str,
    *,
    owner_org_id: str | None = None,
    viewer: Viewer | None = None,
    param: str = "identifier",
) -> StoredResource | None:
    """The current resource of the type with this identifier (``system`` None: in any system)
    that ``owner_org_id`` owns, or that ``viewer`` may see (the oldest, if several);
    ``param``: the token search parameter it is found by (``accession`` for a Specimen's
    number)."""
    statement = _identified(resource_type, system, value, owner_org_id, viewer, param)
    row = session.scalars(statement.order_by(FhirResource.id).limit(1)).first()
    return as_stored(row) if row is not None else None


def all_by_identifier(
    session: Session, resource_type: str, system: str | None, value: str, viewer: Viewer
) -> list[StoredResource]:
    """Every current resource of the type with this identifier (``system`` None: in any system)
    that ``viewer`` may see (the same person registered by several members: a 身份证号 on each
    member's Patient)."""
    statement = _identified(resource_type, system, value, None, viewer)
    return [as_stored(row) for row in session.scalars(statement.order_by(FhirResource.id))]


def _identified(
    resource_type: str,
    system: str | None,
    value: str,
    owner_org_id: str | None,
    viewer: Viewer | None,
    param: str = "identifier",
) -> Select[tuple[FhirResource]]:
    ids = select(FhirTokenIndex.resource_id).where(
        FhirTokenIndex.resource_type == resource_type,
        FhirTokenIndex.param == param,
        FhirTokenIndex.code == value,
    )
    if system is not None:
        ids = ids.where(FhirTokenIndex.system == system)
    statement = select(FhirResource).where(
        FhirResource.resource_type == resource_type,
        FhirResource.id.in_(ids),
        FhirResource.deleted.is_(False),
    )
    if owner_org_id is not None:
        statement = statement.where(FhirResource.owner_org_id == owner_org_id)
    if viewer is not None:
        statement = statement.where(fhir_visible(viewer))
    return statement


def by_identifiers(
    session: Session,
    keys: list[tuple[str, str, str]],
    *,
    owner_org_id: str | None = None,
    viewer: Viewer | None = None,
) -> dict[tuple[str, str, str], StoredResource]:
    """:func:`by_identifier` for many ``(type, system, value)`` keys in one query (in Core over
    the tables' columns, built once per shape: the lab bridge's writer runs it three times a
    message)."""
    if not keys:
        return {}
    distinct = list(dict.fromkeys(keys))
    params: dict[str, Any] = {}
    for n, (resource_type, system, value) in enumerate(distinct):
        params |= {f"type{n}": resource_type, f"system{n}": system, f"value{n}": value}
    if owner_org_id is not None:
        params["owner"] = owner_org_id
    if viewer is not None:
        params |= viewer_params(viewer)
    shape = None if viewer is None else bool(viewer.denied_patients)
    statement = _by_identifiers(len(distinct), owner_org_id is not None, shape)
    found: dict[tuple[str, str, str], StoredResource] = {}
    for row in session.execute(statement, params):
        *stored, system, code = row
        found.setdefault((stored[0], system, code), StoredResource(*stored))
    return found


@lru_cache(maxsize=256)
def _by_identifiers(keys: int, owned: bool, denied: bool | None) -> Select[Any]:
    """The statement of :func:`by_identifiers` for ``keys`` keys, the owner given or not, a
    viewer given (``denied``: with patients denied to it) or not."""
    token = _TOKEN.c
    statement = (
        select(*_STORED, token.system, token.code)
        .select_from(_TOKEN)
        # The token index leads (each key one lookup), not the owner's every resource, which
        # SQLite's planner prefers on a young database without statistics.
        .with_hint(_TOKEN, "INDEXED BY ix_fhir_index_token_code", "sqlite")
        .join(
            _RESOURCE,
            and_(
                token.resource_type == _RESOURCE.c.resource_type,
                token.resource_id == _RESOURCE.c.id,
            ),
        )
        .where(
            token.param == "identifier",
            or_(*(
                and_(
                    token.resource_type == bindparam(f"type{n}"),
                    token.code == bindparam(f"value{n}"),
                    token.system == bindparam(f"system{n}"),
                )
                for n in range(keys)
            )),
            _RESOURCE.c.deleted.is_(False),
        )
    )  # fmt: skip
    if owned:
        statement = statement.where(_RESOURCE.c.owner_org_id == bindparam("owner"))
    if denied is not None:
        statement = statement.where(fhir_visible_bound(_RESOURCE.c, denied=denied))
    return statement.order_by(_RESOURCE.c.id)


_TOKEN = FhirTokenIndex.__table__
_RESOURCE = FhirResource.__table__
# The columns of a StoredResource, in its order.
_STORED = [
    _RESOURCE.c[name]
    for name in ("resource_type", "id", "version_id", "last_updated", "deleted",
                 "owner_org_id", "content")
]  # fmt: skip


def read_many(session: Session, targets: list[str], viewer: Viewer) -> list[StoredResource]:
    """The current, visible resources among ``Type/id`` targets."""
    by_type: dict[str, list[str]] = {}
    for target in targets:
        if target.count("/") == 1:
            resource_type, resource_id = target.split("/")
            by_type.setdefault(resource_type, []).append(resource_id)
    if not by_type:
        return []
    rows = session.scalars(
        select(FhirResource).where(
            or_(
                *(
                    and_(FhirResource.resource_type == t, FhirResource.id.in_(ids))
                    for t, ids in by_type.items()
                )
            ),
            FhirResource.deleted.is_(False),
            fhir_visible(viewer),
        )
    )
    return [as_stored(row) for row in rows]


def referencing(
    session: Session, source_type: str, param: str, targets: list[str], viewer: Viewer
) -> list[StoredResource]:
    """Visible resources of ``source_type`` whose ``param`` points at a target (``_revinclude``)."""
    if not targets:
        return []
    sources = select(FhirReferenceIndex.resource_id).where(
        FhirReferenceIndex.resource_type == source_type,
        FhirReferenceIndex.param == param,
        FhirReferenceIndex.target.in_(targets),
    )
    rows = session.scalars(
        select(FhirResource).where(
            FhirResource.resource_type == source_type,
            FhirResource.id.in_(sources),
            FhirResource.deleted.is_(False),
            fhir_visible(viewer),
        )
    )
    return [as_stored(row) for row in rows]


def server_owned(session: Session, resource_type: str) -> list[str]:
    """The ids of the current resources of a type that the server keeps itself (no owner)."""
    return list(
        session.scalars(
            select(FhirResource.id).where(
                FhirResource.resource_type == resource_type,
                FhirResource.owner_org_id.is_(None),
                FhirResource.deleted.is_(False),
            )
        )
    )
