"""FHIR search as SQL over the search index (never a scan of resource JSON).

A query is a list of criteria (AND); each criterion has alternatives (OR) of one parameter
and one type.  Matching follows FHIR R4 search (3.1.1.5): tokens by ``system|code`` or text,
strings by prefix (or exactly, or contained; values are indexed lower-cased), dates by the
prefixes ``eq ne lt gt le ge sa eb ap`` against the range a value covers, references by
``Type/id`` or a bare id, quantities by value with prefixes and optional ``system|code``, URIs
exactly.  Only resources the requester's organizations may see are counted or returned.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, func, literal, not_, or_, select
from sqlalchemy.orm import Session

from storage.db import execute_plain
from storage.fhir.combos import COMBOS, combo_param
from storage.fhir.criteria import (
    TABLES,
    Criterion,
    Has,
    Match,
    Paired,
    alternative,
    date_criterion,
    token_condition,
)
from storage.fhir.ordering import SortKey, order_by, walk, walkable
from storage.fhir.store import StoredResource, as_stored
from storage.models import (
    FhirReferenceIndex,
    FhirResource,
    FhirTokenDateIndex,
)
from storage.policy import Viewer, fhir_visible

# How many index entries a criterion is counted up to when choosing which one drives a query.
ESTIMATE_CAP = 10_000
# From how many matches a sorted page is found by walking the sort index (storage.fhir.ordering)
# rather than by sorting every match, and the deepest page (offset + count) a walk serves.
WALK_FROM = 500
WALK_DEEPEST = 500
# Which kinds of criteria usually match few resources (a date range with both ends: 3 less).
_LIKELY_FEW = {"reference": 0, "token": 2, "uri": 2, "string": 3, "quantity": 4, "date": 4}


def _ids_matching(resource_type: str, criterion: Criterion, viewer: Viewer) -> Select[Any]:
    """Linked resources count only when the requester may see them (no probing)."""
    return select(FhirResource.id).where(
        FhirResource.resource_type == resource_type,
        FhirResource.deleted.is_(False),
        fhir_visible(viewer),
        _condition(resource_type, criterion, viewer),
    )


def _chained(resource_type: str, criterion: Criterion, viewer: Viewer) -> ColumnElement[bool]:
    assert criterion.chain is not None
    target_type, inner = criterion.chain
    targets = _ids_matching(target_type, inner, viewer).with_only_columns(
        literal(f"{target_type}/") + FhirResource.id
    )
    referring = select(FhirReferenceIndex.resource_id).where(
        FhirReferenceIndex.resource_type == resource_type,
        FhirReferenceIndex.param == criterion.param,
        FhirReferenceIndex.target.in_(targets),
    )
    return FhirResource.id.in_(referring)


def _has(resource_type: str, has: Has, viewer: Viewer) -> ColumnElement[bool]:
    sources = _ids_matching(has.source_type, has.criterion, viewer)
    targets = select(FhirReferenceIndex.target).where(
        FhirReferenceIndex.resource_type == has.source_type,
        FhirReferenceIndex.param == has.param,
        FhirReferenceIndex.resource_id.in_(sources),
    )
    return (literal(f"{resource_type}/") + FhirResource.id).in_(targets)


def _matching(resource_type: str, criterion: Criterion) -> Select[Any] | None:
    """The ids of the resources a plain criterion (no chain, ``:missing`` or ``:not``) matches,
    as a query of one index table; None for the others."""
    if criterion.chain is not None or criterion.modifier in ("missing", "not"):
        return None
    if criterion.param == "_id":
        return select(FhirResource.id).where(
            FhirResource.resource_type == resource_type,
            FhirResource.id.in_([m.value for m in criterion.matches]),
        )
    table = TABLES[criterion.kind]
    if criterion.kind == "date":
        condition = date_criterion(table, criterion)
    else:
        condition = or_(*(alternative(criterion, table, m) for m in criterion.matches))
    return select(table.resource_id).where(
        table.resource_type == resource_type, table.param == criterion.param, condition
    )


def _paired_matching(resource_type: str, paired: Paired) -> Select[Any]:
    table = FhirTokenDateIndex
    return select(table.resource_id).where(
        table.resource_type == resource_type,
        table.param == combo_param(paired.token.param, paired.date.param),
        or_(*(token_condition(table, None, m) for m in paired.token.matches)),
        date_criterion(table, paired.date),
    )


def _pairs(resource_type: str, criteria: list[Criterion | Has]) -> list[Criterion | Has | Paired]:
    """The criteria with each token + date pair that has a pair index (``code`` and ``date``
    of an Observation) as one :class:`Paired` criterion in place of the two."""
    plain = {
        (c.param, c.kind): c
        for c in criteria
        if isinstance(c, Criterion) and c.chain is None and c.modifier is None
    }
    joined: list[Criterion | Has | Paired] = list(criteria)
    for token, date in COMBOS.get(resource_type, ()):
        if (token, "token") in plain and (date, "date") in plain:
            pair = Paired(plain[token, "token"], plain[date, "date"])
            joined = [c for c in joined if c is not pair.token and c is not pair.date]
            joined.append(pair)
    return joined


def _ranges(criteria: list[Criterion | Has]) -> list[Criterion | Has]:
    """``date=ge2026-01-01&date=lt2026-02-01`` as one range a value must lie in (as HAPI reads
    it), so that it is one index range, not two half-open ones."""
    merged: list[Criterion | Has] = []
    lower: dict[str, int] = {}
    upper: dict[str, int] = {}
    for criterion in criteria:
        if (
            isinstance(criterion, Criterion)
            and criterion.kind == "date"
            and criterion.chain is None
            and criterion.modifier is None
            and len(criterion.matches) == 1
            and not criterion.also
        ):
            prefix = criterion.matches[0].prefix
            bounds, other = (lower, upper) if prefix in ("ge", "gt", "sa") else (upper, lower)
            if prefix in ("ge", "gt", "sa", "le", "lt", "eb") and criterion.param not in bounds:
                if criterion.param in other:
                    at = other.pop(criterion.param)
                    partner = merged[at]
                    assert isinstance(partner, Criterion)
                    merged[at] = replace(partner, also=(criterion.matches[0],))
                    continue
                bounds[criterion.param] = len(merged)
        merged.append(criterion)
    return merged


def _condition(
    resource_type: str,
    criterion: Criterion | Has | Paired,
    viewer: Viewer,
    *,
    drives: bool = True,
) -> ColumnElement[bool]:
    """``drives``: the matching ids are listed first and the resources looked up by them (the
    most selective criterion); otherwise each candidate resource is checked (a correlated
    EXISTS on the index table's per-resource index)."""
    if isinstance(criterion, Has):
        return _has(resource_type, criterion, viewer)
    if isinstance(criterion, Paired):
        matching = _paired_matching(resource_type, criterion)
        if drives:
            return FhirResource.id.in_(matching)
        return matching.where(FhirTokenDateIndex.resource_id == FhirResource.id).exists()
    if criterion.chain is not None:
        return _chained(resource_type, criterion, viewer)
    table = TABLES[criterion.kind]
    if criterion.modifier == "missing":
        present = select(table.resource_id).where(
            table.resource_type == resource_type, table.param == criterion.param
        )
        missing = criterion.matches[0].value == "true"
        return FhirResource.id.not_in(present) if missing else FhirResource.id.in_(present)
    plain = replace(criterion, modifier=None) if criterion.modifier == "not" else criterion
    matching = _matching(resource_type, plain)
    assert matching is not None
    if criterion.modifier == "not":
        return not_(FhirResource.id.in_(matching))
    if drives or criterion.param == "_id":
        return FhirResource.id.in_(matching)
    return matching.where(table.resource_id == FhirResource.id).exists()


def _driver(
    session: Session, resource_type: str, criteria: list[Criterion | Has | Paired]
) -> tuple[Criterion | Paired | None, int]:
    """The plain criterion with the fewest matches, counted (in the index only) up to the
    fewest found so far, likely-selective ones first, and that count; None when every one
    matches :data:`ESTIMATE_CAP` or more (then walking the resources in order and checking
    each finds a page sooner than listing that many ids)."""
    candidates: list[tuple[Criterion | Paired, Select[Any]]] = [
        (criterion, _paired_matching(resource_type, criterion))
        for criterion in criteria
        if isinstance(criterion, Paired)
    ]
    candidates += [
        (criterion, matching)
        for criterion in criteria
        if isinstance(criterion, Criterion)
        and (matching := _matching(resource_type, criterion)) is not None
    ]
    plain = sorted(candidates, key=lambda pair: _likely_few(pair[0]))
    best, fewest = None, ESTIMATE_CAP
    for criterion, matching in plain:
        capped = select(func.count()).select_from(matching.limit(fewest).subquery())
        size = execute_plain(session, capped).scalar() or 0
        if size < fewest:
            best, fewest = criterion, size
        if fewest <= 100:
            break
    return best, fewest


def _likely_few(criterion: Criterion | Paired) -> int:
    if isinstance(criterion, Paired):
        return -1
    return _LIKELY_FEW.get(criterion.kind, 9) - (3 if criterion.also else 0)


def _filtered(
    resource_type: str,
    joined: list[Criterion | Has | Paired],
    viewer: Viewer,
    last_updated: list[Match],
    driver: Criterion | Paired | None,
) -> Select[Any]:
    """The ids of the matching resources (``driver``'s listed first, the rest checked)."""
    statement = select(FhirResource.id).where(
        FhirResource.resource_type == resource_type,
        FhirResource.deleted.is_(False),
        fhir_visible(viewer),
    )
    for criterion in joined:
        statement = statement.where(
            _condition(resource_type, criterion, viewer, drives=criterion is driver)
        )
    for match in last_updated:
        statement = statement.where(_last_updated_condition(match))
    return statement


def _last_updated_condition(match: Match) -> ColumnElement[bool]:
    low, high = match.low, match.high
    column = FhirResource.last_updated
    lo = datetime.fromisoformat(f"{low}+00:00").astimezone(UTC) if low else None
    hi = datetime.fromisoformat(f"{high}.999999+00:00").astimezone(UTC) if high else None
    return {
        "eq": column.between(lo, hi),
        "ap": column.between(lo, hi),
        "ne": not_(column.between(lo, hi)),
        "lt": column < lo,
        "eb": column < lo,
        "gt": column > hi,
        "sa": column > hi,
        "le": column <= hi,
        "ge": column >= lo,
    }[match.prefix]


def search(
    session: Session,
    resource_type: str,
    criteria: list[Criterion | Has],
    viewer: Viewer,
    *,
    count: int,
    offset: int = 0,
    last_updated: list[Match] | None = None,
    with_total: bool = True,
    sort: list[SortKey] | None = None,
) -> tuple[list[StoredResource], int | None]:
    """One page of matches in ``sort`` order (then by id: stable for paging) and the total:
    counted when ``with_total``, else known only when this page is the last one."""
    sort = sort or []
    joined = _pairs(resource_type, _ranges(criteria))
    driver, fewest = _driver(session, resource_type, joined)
    ids = _filtered(resource_type, joined, viewer, last_updated or [], driver)
    page: list[str] | None = None
    if count and walkable(sort) and fewest >= WALK_FROM and offset + count <= WALK_DEEPEST:
        checked = _filtered(resource_type, joined, viewer, last_updated or [], None)
        walked = walk(session, checked, resource_type, sort[0], offset + count)
        page = walked[offset:] if walked is not None else None
    if count and page is None:
        ordered = ids.order_by(*order_by(resource_type, sort)).offset(offset).limit(count)
        page = list(execute_plain(session, ordered).scalars())
    found = _rows(session, resource_type, page or [])
    total = None
    if with_total:
        total = execute_plain(session, select(func.count()).select_from(ids.subquery())).scalar()
    elif count and len(found) < count and (found or offset == 0):
        total = offset + len(found)
    return found, total


# A page's resources by their ids (built once: every search with matches reads one).
_PAGE = select(FhirResource.__table__).where(
    FhirResource.resource_type == bindparam("type"),
    FhirResource.id.in_(bindparam("ids", expanding=True)),
)


def _rows(session: Session, resource_type: str, ids: list[str]) -> list[StoredResource]:
    """The resources of ``ids``, in that order: read only for the page, after the ids were
    sorted without them."""
    if not ids:
        return []
    rows = execute_plain(session, _PAGE, {"type": resource_type, "ids": ids})
    by_id = {row.id: as_stored(row) for row in rows}
    return [by_id[i] for i in ids]
