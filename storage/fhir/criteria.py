"""FHIR search criteria and the SQL condition each kind of parameter makes on its index table.

A criterion has alternatives (OR) of one parameter and one type.  Matching follows FHIR R4 search
(3.1.1.5): tokens by ``system|code`` or text, strings by prefix (or exactly, or contained;
values are indexed lower-cased), dates by the prefixes ``eq ne lt gt le ge sa eb ap`` against
the range a value covers, references by ``Type/id`` or a bare id, quantities by value with
prefixes and optional ``system|code``, URIs exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, literal, or_, select

from storage.models import (
    FhirDateIndex,
    FhirQuantityIndex,
    FhirReferenceIndex,
    FhirStringIndex,
    FhirTokenIndex,
    FhirUriIndex,
    MatchGrade,
    MpiLink,
)

_ESCAPE = "!"
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
    (:mod:`storage.fhir.combos`)."""

    token: Criterion
    date: Criterion


def _like(text: str) -> str:
    return text.replace(_ESCAPE, _ESCAPE * 2).replace("%", "!%").replace("_", "!_")


def token_condition(table: Any, modifier: str | None, match: Match) -> ColumnElement[bool]:
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


def _reference(table: Any, match: Match, modifier: str | None) -> ColumnElement[bool]:
    if modifier == "mdm":
        return same_person(table.target, match.value.removeprefix("Patient/"))
    if "/" in match.value:
        return table.target == match.value
    return or_(
        table.target == match.value, table.target.like(f"%/{_like(match.value)}", escape=_ESCAPE)
    )


def same_person(target: Any, patient_id: str) -> ColumnElement[bool]:
    """``target`` is ``Patient/{patient_id}`` or a Patient the patient index links ``MATCH`` to
    the same person (``subject:mdm=Patient/…``, as HAPI FHIR's MDM expansion)."""
    person = (
        select(MpiLink.person_id)
        .where(MpiLink.patient_id == patient_id, MpiLink.grade == MatchGrade.MATCH)
        .scalar_subquery()
    )
    linked = select(literal("Patient/") + MpiLink.patient_id).where(
        MpiLink.person_id == person, MpiLink.grade == MatchGrade.MATCH
    )
    return or_(target == f"Patient/{patient_id}", target.in_(linked))


def alternative(criterion: Criterion, table: Any, match: Match) -> ColumnElement[bool]:
    kind = criterion.kind
    if kind == "token":
        return token_condition(table, criterion.modifier, match)
    if kind == "string":
        return _string(table, criterion.modifier, match)
    if kind in ("quantity", "number"):
        return _quantity(table, match)
    if kind == "reference":
        return _reference(table, match, criterion.modifier)
    return table.value == match.value


def date_criterion(table: Any, criterion: Criterion) -> ColumnElement[bool]:
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
