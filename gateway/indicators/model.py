"""What an indicator is: its definition (name, scoring, unit, what is counted) and how it is
evaluated for the organizations a requester sees over a period — one figure overall and one per
stratum (a member, a device, a centre, a priority), each stratum keyed ``Kind/code`` where the
kind says which of the indicator's stratifiers it belongs to."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from storage.clinical.intervals import interval_figures

# FHIR measure-population codes, as a MeasureReport names its counts.
INITIAL = "initial-population"
NUMERATOR = "numerator"
DENOMINATOR = "denominator"
MEASURE_POPULATION = "measure-population"
Row = TypeVar("Row")
T = TypeVar("T")
# Each stratifier an indicator may declare, and the kind of its strata's keys.
STRATUM_KINDS = {
    "organization": "Organization",
    "device": "Schedule",
    "reason": "RepeatReason",
    "centre": "HealthcareService",
    "priority": "Priority",
    "modality": "Modality",
}


@dataclass(frozen=True, slots=True)
class Scope:
    """Whose records (the organizations the requester sees) and when: ``[start, end)``; the
    rows a family of indicators counts are read once per scope and shared (:meth:`shared`)."""

    orgs: set[str]
    start: datetime
    end: datetime
    _read: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def shared(self, register: str, read: Callable[[], T]) -> T:
        """The rows of ``register`` in this scope, read the first time they are asked for."""
        if register not in self._read:
            self._read[register] = read()
        return self._read[register]


@dataclass(frozen=True, slots=True)
class Figure:
    """One evaluated figure: its counts by population code and its score (a rate 0–1, a count,
    minutes); None when there is nothing to score (no denominator, no interval)."""

    populations: dict[str, int]
    score: float | None


@dataclass(frozen=True, slots=True)
class Result:
    overall: Figure
    strata: dict[str, Figure] = field(default_factory=dict)  # stratum label -> figure


Evaluate = Callable[[Session, Scope], Result]


@dataclass(frozen=True, slots=True)
class Indicator:
    """``scoring`` is FHIR's measure-scoring code (proportion, ratio, cohort,
    continuous-variable); ``unit`` a UCUM code (``1`` for proportions, scored 0–1; ``min``);
    ``definition`` says exactly what is counted, in both languages."""

    id: str
    title: str  # zh-CN, as the alliance reports it
    title_en: str
    scoring: str
    unit: str
    definition: str
    definition_en: str
    stratifiers: tuple[str, ...]  # what the strata are: keys of STRATUM_KINDS
    improvement: str  # increase or decrease
    evaluate: Evaluate


def proportion(numerator: int, denominator: int) -> Figure:
    score = round(numerator / denominator, 4) if denominator else None
    return Figure({NUMERATOR: numerator, DENOMINATOR: denominator}, score)


def cohort(count: int) -> Figure:
    return Figure({INITIAL: count}, float(count))


def count(rows: Sequence[object]) -> Figure:
    return cohort(len(rows))


def minutes(values: Iterable[float | None], pick: str) -> Figure:
    """Minutes of a group as a continuous-variable figure: how many were measured, scored by
    their ``median`` or ``p90``."""
    found = interval_figures(values)
    score = found.median_minutes if pick == "median" else found.p90_minutes
    return Figure({MEASURE_POPULATION: found.count}, score)


def per(
    rows: Sequence[Row],
    figure: Callable[[Sequence[Row]], Figure],
    *keys: Callable[[Row], str | None],
) -> Result:
    """``figure`` of all ``rows`` and of each group of them by each of ``keys`` (one per
    stratifier; a row whose key is None is in no stratum of that stratifier)."""
    strata: dict[str, Figure] = {}
    for key in keys:
        groups: dict[str, list[Row]] = defaultdict(list)
        for row in rows:
            if (label := key(row)) is not None:
                groups[label].append(row)
        strata |= {label: figure(group) for label, group in sorted(groups.items())}
    return Result(figure(rows), strata)
