"""FHIR search as SQL over the search index (never a scan of resource JSON).

A query is a list of criteria (AND); each criterion has alternatives (OR) of one parameter
and one type.  Matching follows FHIR R4 search (3.1.1.5): tokens by ``system|code`` or text,
strings by prefix (or exactly, or contained; values are indexed lower-cased), dates by the
prefixes ``eq ne lt gt le ge sa eb ap`` against the range a value covers, references by
``Type/id`` or a bare id, quantities by value with prefixes and optional ``system|code``, URIs
exactly.  Only resources the requester's organizations may see are counted or returned.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, literal, not_, or_, select
from sqlalchemy.orm import Session

from storage.fhir_combos import COMBOS, combo_param
from storage.fhir_store import StoredResource, as_stored
from storage.models import (
    FhirDateIndex,
    FhirQuantityIndex,
    FhirReferenceIndex,
    FhirResource,
    FhirStringIndex,
    FhirTokenDateIndex,
    FhirTokenIndex,
    FhirUriIndex,
)
from storage.policy import Viewer, fhir_visible

_ESCAPE = "!"
# How many index entries a criterion is counted up to when choosing which one drives a query.
ESTIMATE_CAP = 10_000
# Which kinds of criteria usually match few resources (a date range with both ends: 3 less).
_LIKELY_FEW = {"reference": 0, "token": 2, "uri": 2, "string": 3, "quantity": 4, "date": 4}
TABLES: dict[str, Any] = {
    "token": FhirTokenIndex,
    "string": FhirStringIndex,
    "date": FhirDateIndex,
    "reference": FhirReferenceIndex,
    "quantity": FhirQuantityIndex,
    "number": FhirQuantityIndex,
    "uri": FhirUriIndex,
}


@dataclass(frozen=True, slots=True)
class Match:
    """One alternative: ``value`` as given, with the parameter's prefix and modifier."""

    value: str
    prefix: str = "eq"
    low: str | None = None  # dates: the range the value covers
    high: str | None = None
    number: float | None = None


@dataclass(frozen=True, slots=True)
class Criterion:
    """``param`` matches one of ``matches``; with ``chain`` (a reference parameter), the
    referenced ``chain[0]`` resource matches the criterion ``chain[1]`` instead."""

    param: str
    kind: str
    modifier: str | None = None
    matches: list[Match] = field(default_factory=list)
    chain: tuple[str, Criterion] | None = None
    also: tuple[Match, ...] = ()  # the same indexed value must match these too (date ranges)


@dataclass(frozen=True, slots=True)
class Has:
    """``_has:Source:param:criterion``: some ``source_type`` resource matching ``criterion``
    refers to this one through ``param``."""

    source_type: str
    param: str
    criterion: Criterion


@dataclass(frozen=True, slots=True)
class Paired:
    """A token and a date criterion answered together from their pair index
    (:mod:`storage.fhir_combos`)."""

    token: Criterion
    date: Criterion


def _like(text: str) -> str:
    return text.replace(_ESCAPE, _ESCAPE * 2).replace("%", "!%").replace("_", "!_")


def _token(table: Any, modifier: str | None, match: Match) -> ColumnElement[bool]:
    if modifier == "text":
        return table.text.like(f"{_like(match.value.lower())}%", escape=_ESCAPE)
    if "|" not in match.value:
        return table.code == match.value
    system, code = match.value.split("|", 1)
    if not system:
        return and_(table.system.is_(None), table.code == code)
    if not code:
        return table.system == system
    return and_(table.system == system, table.code == code)


def _string(table: Any, modifier: str | None, match: Match) -> ColumnElement[bool]:
    value = match.value.lower()
    if modifier == "exact":
        return table.value == value
    if modifier == "contains":
        return table.value.like(f"%{_like(value)}%", escape=_ESCAPE)
    return table.value.like(f"{_like(value)}%", escape=_ESCAPE)


# prefix -> the condition on an indexed range (table.low, table.high) for the searched one
_DATE_PREFIXES: dict[str, Callable[[Any, str | None, str | None], ColumnElement[bool]]] = {
    "eq": lambda t, low, high: and_(t.low >= low, t.high <= high),
    "ne": lambda t, low, high: or_(t.low < low, t.high > high),
    "lt": lambda t, low, high: t.low < low,
    "gt": lambda t, low, high: t.high > high,
    "le": lambda t, low, high: t.low <= high,
    "ge": lambda t, low, high: t.high >= low,
    "sa": lambda t, low, high: t.low > high,
    "eb": lambda t, low, high: t.high < low,
    "ap": lambda t, low, high: and_(t.low <= high, t.high >= low),
}


def _date(table: Any, match: Match, narrow: bool = False) -> ColumnElement[bool]:
    """``narrow``: for values that span a day at most (dateTime, date), where a bound on the
    end is also a bound on the start, so that one index range on the start finds them."""
    low, high = match.low, match.high
    condition = _DATE_PREFIXES[match.prefix](table, low, high)
    if not narrow:
        return condition
    earliest = {"gt": high, "ge": low, "ap": low}.get(match.prefix)
    latest = {"eq": high, "eb": low}.get(match.prefix)
    if earliest is not None:
        condition = and_(condition, table.low >= _day_before(earliest))
    if latest is not None:
        condition = and_(condition, table.low <= latest)
    return condition


def _day_before(moment: str | None) -> str:
    assert moment is not None
    return (datetime.fromisoformat(moment) - timedelta(days=1)).isoformat()


def _number(column: Any, match: Match) -> ColumnElement[bool]:
    value = match.number
    return {
        "eq": column == value,
        "ap": column.between(value * 0.9, value * 1.1),  # type: ignore[operator]
        "ne": column != value,
        "lt": column < value,
        "gt": column > value,
        "le": column <= value,
        "ge": column >= value,
        "sa": column > value,
        "eb": column < value,
    }[match.prefix]


def _quantity(table: Any, match: Match) -> ColumnElement[bool]:
    condition = _number(table.value, match)
    parts = match.value.split("|")
    if len(parts) == 3:
        _, system, code = parts
        if system:
            condition = and_(condition, table.system == system)
        if code:
            condition = and_(condition, table.code == code)
    return condition


def _reference(table: Any, match: Match) -> ColumnElement[bool]:
    if "/" in match.value:
        return table.target == match.value
    return or_(
        table.target == match.value, table.target.like(f"%/{_like(match.value)}", escape=_ESCAPE)
    )


def _alternative(criterion: Criterion, table: Any, match: Match) -> ColumnElement[bool]:
    kind = criterion.kind
    if kind == "token":
        return _token(table, criterion.modifier, match)
    if kind == "string":
        return _string(table, criterion.modifier, match)
    if kind in ("quantity", "number"):
        return _quantity(table, match)
    if kind == "reference":
        return _reference(table, match)
    return table.value == match.value


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
        condition = _date_criterion(table, criterion)
    else:
        condition = or_(*(_alternative(criterion, table, m) for m in criterion.matches))
    return select(table.resource_id).where(
        table.resource_type == resource_type, table.param == criterion.param, condition
    )


def _date_criterion(table: Any, criterion: Criterion) -> ColumnElement[bool]:
    """A date criterion on ``table``'s ``low``/``high``/``wide`` columns: values of a day at
    most and wider ones apart, so that the first are one index range on ``low``."""
    return or_(
        *(
            and_(
                table.wide.is_(wide),
                or_(*(_date(table, m, not wide) for m in criterion.matches)),
                *(_date(table, m, not wide) for m in criterion.also),
            )
            for wide in (False, True)
        )
    )


def _paired_matching(resource_type: str, paired: Paired) -> Select[Any]:
    table = FhirTokenDateIndex
    return select(table.resource_id).where(
        table.resource_type == resource_type,
        table.param == combo_param(paired.token.param, paired.date.param),
        or_(*(_token(table, None, m) for m in paired.token.matches)),
        _date_criterion(table, paired.date),
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
) -> Criterion | Paired | None:
    """The plain criterion with the fewest matches, counted (in the index only) up to the
    fewest found so far, likely-selective ones first; None when every one matches
    :data:`ESTIMATE_CAP` or more (then walking the resources in order and checking each finds
    a page sooner than listing that many ids)."""
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
    if len(plain) < 2:
        return plain[0][0] if plain else None
    best, fewest = None, ESTIMATE_CAP
    for criterion, matching in plain:
        capped = select(func.count()).select_from(matching.limit(fewest).subquery())
        size = session.scalar(capped) or 0
        if size < fewest:
            best, fewest = criterion, size
        if fewest <= 100:
            break
    return best


def _likely_few(criterion: Criterion | Paired) -> int:
    if isinstance(criterion, Paired):
        return -1
    return _LIKELY_FEW.get(criterion.kind, 9) - (3 if criterion.also else 0)


def _filtered(
    session: Session,
    resource_type: str,
    criteria: list[Criterion | Has],
    viewer: Viewer,
    last_updated: list[Match],
) -> Select[Any]:
    statement = select(FhirResource).where(
        FhirResource.resource_type == resource_type,
        FhirResource.deleted.is_(False),
        fhir_visible(viewer),
    )
    joined = _pairs(resource_type, _ranges(criteria))
    driver = _driver(session, resource_type, joined)
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


@dataclass(frozen=True, slots=True)
class SortKey:
    param: str  # a search parameter, "_id" or "_lastUpdated"
    kind: str
    descending: bool = False


_SORT_COLUMN = {
    "token": "code",
    "string": "value",
    "reference": "target",
    "quantity": "value",
    "number": "value",
    "uri": "value",
}


def _sort_expression(resource_type: str, key: SortKey) -> Any:
    """A resource's sort value for ``key``: the least value ascending, the greatest
    descending (dates: the start of the earliest range / the end of the latest)."""
    if key.param == "_id":
        value: Any = FhirResource.id
    elif key.param == "_lastUpdated":
        value = FhirResource.last_updated
    else:
        table = TABLES[key.kind]
        if key.kind == "date":
            column = table.high if key.descending else table.low
        else:
            column = getattr(table, _SORT_COLUMN[key.kind])
        pick = func.max(column) if key.descending else func.min(column)
        value = (
            select(pick)
            .where(
                table.resource_type == resource_type,
                table.resource_id == FhirResource.id,
                table.param == key.param,
            )
            .scalar_subquery()
        )
    return value.desc().nulls_last() if key.descending else value.asc().nulls_last()


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
    statement = _filtered(session, resource_type, criteria, viewer, last_updated or [])
    order = [_sort_expression(resource_type, key) for key in sort or []]
    found = []
    if count:
        rows = session.scalars(
            statement.order_by(*order, FhirResource.id).offset(offset).limit(count)
        )
        found = [as_stored(row) for row in rows]
    total = None
    if with_total:
        total = session.scalar(select(func.count()).select_from(statement.subquery()))
    elif count and len(found) < count and (found or offset == 0):
        total = offset + len(found)
    return found, total


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
    system: str,
    value: str,
    *,
    owner_org_id: str | None = None,
    viewer: Viewer | None = None,
) -> StoredResource | None:
    """The current resource of the type with this identifier that ``owner_org_id`` owns, or
    that ``viewer`` may see (the oldest, if several)."""
    ids = select(FhirTokenIndex.resource_id).where(
        FhirTokenIndex.resource_type == resource_type,
        FhirTokenIndex.param == "identifier",
        FhirTokenIndex.code == value,
        FhirTokenIndex.system == system,
    )
    statement = select(FhirResource).where(
        FhirResource.resource_type == resource_type,
        FhirResource.id.in_(ids),
        FhirResource.deleted.is_(False),
    )
    if owner_org_id is not None:
        statement = statement.where(FhirResource.owner_org_id == owner_org_id)
    if viewer is not None:
        statement = statement.where(fhir_visible(viewer))
    row = session.scalars(statement.order_by(FhirResource.id).limit(1)).first()
    return as_stored(row) if row is not None else None


def by_identifiers(
    session: Session,
    keys: list[tuple[str, str, str]],
    *,
    owner_org_id: str | None = None,
    viewer: Viewer | None = None,
) -> dict[tuple[str, str, str], StoredResource]:
    """:func:`by_identifier` for many ``(type, system, value)`` keys in one query."""
    if not keys:
        return {}
    statement = (
        select(FhirResource, FhirTokenIndex.system, FhirTokenIndex.code)
        .join(
            FhirTokenIndex,
            and_(
                FhirTokenIndex.resource_type == FhirResource.resource_type,
                FhirTokenIndex.resource_id == FhirResource.id,
            ),
        )
        .where(
            FhirTokenIndex.param == "identifier",
            or_(*(
                and_(FhirTokenIndex.resource_type == t, FhirTokenIndex.code == v,
                     FhirTokenIndex.system == s)
                for t, s, v in dict.fromkeys(keys)
            )),
            FhirResource.deleted.is_(False),
        )
    )  # fmt: skip
    if owner_org_id is not None:
        statement = statement.where(FhirResource.owner_org_id == owner_org_id)
    if viewer is not None:
        statement = statement.where(fhir_visible(viewer))
    found: dict[tuple[str, str, str], StoredResource] = {}
    for row, system, code in session.execute(statement.order_by(FhirResource.id)):
        found.setdefault((row.resource_type, system, code), as_stored(row))
    return found


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
