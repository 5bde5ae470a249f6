"""``_sort`` for FHIR search: the order of a page of matches.

Two ways to the same page.  Sorting every match (``sort_expression`` per resource, then the
first page) costs what the matches number.  When they are many — a centre's 10,000 open
reading Tasks, newest first — :func:`walk` instead reads the sort parameter's index in order
and checks the candidates batch by batch against the query until the page is full, which
costs what the page needs.  Ties are broken by the resource id in the direction of the first
key, so both ways give the same order and paging stays stable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, func, not_, or_, select, true
from sqlalchemy.orm import Session

from storage.fhir.criteria import TABLES
from storage.models import FhirDateIndex, FhirResource

# Candidates read from the sort index per step of a walk (at most; twice the page when that is
# fewer), and how many a walk may read in all (per resource in the page asked for) before
# sorting every match is the cheaper way after all.
WALK_BATCH = 256
WALK_BUDGET_PER_RESULT = 40


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


def sort_expression(resource_type: str, key: SortKey) -> Any:
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


def order_by(resource_type: str, sort: list[SortKey]) -> list[Any]:
    """The ORDER BY of ``sort``, then the id (in the first key's direction)."""
    tie = FhirResource.id.desc() if sort and sort[0].descending else FhirResource.id.asc()
    return [sort_expression(resource_type, key) for key in sort] + [tie]


def walkable(sort: list[SortKey]) -> bool:
    """One date key: its index is read in order (the lists people page through)."""
    return len(sort) == 1 and sort[0].kind == "date"


def walk(
    session: Session, ids: Select[Any], resource_type: str, key: SortKey, wanted: int
) -> list[str] | None:
    """The first ``wanted`` ids of ``ids`` (a query of matching resource ids) in ``key``'s
    order, or None when the walk would read more of the index than its budget allows (few
    matches spread over many resources: sort the matches instead)."""
    table = FhirDateIndex
    value = table.high if key.descending else table.low
    steps = (value, table.resource_id)
    if key.descending:
        steps = (value.desc(), table.resource_id.desc())
    batch_size = min(WALK_BATCH, max(2 * wanted, 16))
    budget = max(wanted * WALK_BUDGET_PER_RESULT, 4 * batch_size)
    found: list[str] = []
    seen: set[str] = set()
    after: tuple[str, str] | None = None
    while len(found) < wanted:
        batch = session.execute(
            select(value, table.resource_id)
            .where(table.resource_type == resource_type, table.param == key.param)
            .where(_after(value, table.resource_id, after, key.descending))
            .order_by(*steps)
            .limit(batch_size)
        ).all()
        if not batch:
            break
        candidates = [row[1] for row in batch if row[1] not in seen]
        seen.update(candidates)
        matching = set(session.scalars(ids.where(FhirResource.id.in_(candidates))))
        found += [candidate for candidate in candidates if candidate in matching]
        after = (batch[-1][0], batch[-1][1])
        budget -= len(batch)
        if budget <= 0 and len(found) < wanted:
            return None
    if len(found) < wanted:  # resources without the value come last (nulls last)
        without = select(table.resource_id).where(
            table.resource_type == resource_type,
            table.param == key.param,
            table.resource_id == FhirResource.id,
        )
        tie = FhirResource.id.desc() if key.descending else FhirResource.id
        rest = ids.where(not_(without.exists())).order_by(tie).limit(wanted - len(found))
        found += session.scalars(rest)
    return found[:wanted]


def _after(value: Any, resource_id: Any, after: tuple[str, str] | None, descending: bool) -> Any:
    """Keyset paging of the index: the entries after ``after`` in the walk's order."""
    if after is None:
        return true()
    last_value, last_id = after
    if descending:
        return or_(value < last_value, and_(value == last_value, resource_id < last_id))
    return or_(value > last_value, and_(value == last_value, resource_id > last_id))
