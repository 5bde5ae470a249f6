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

import numpy as np
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


def count(rows: Sequence[object] | Table) -> Figure:
    return cohort(len(rows))


def minutes(values: Iterable[float | None] | np.ndarray, pick: str) -> Figure:
    """Minutes of a group as a continuous-variable figure: how many were measured, scored by
    their ``median`` or ``p90``."""
    found = interval_figures(values)
    score = found.median_minutes if pick == "median" else found.p90_minutes
    return Figure({MEASURE_POPULATION: found.count}, score)


@dataclass(frozen=True, slots=True)
class By:
    """A stratifier's key: a row's ``column`` as the stratum ``kind/value`` (None when empty)."""

    kind: str
    column: str

    def __call__(self, row: Any) -> str | None:
        value = getattr(row, self.column)
        return f"{self.kind}/{value}" if value else None


class Table:
    """A large register's rows (lab orders, readings, alerts) as columns: text as ``str``
    arrays (None → ""), flags as ``bool``, numbers as ``float`` (None → NaN), so that figures
    and strata are computed on arrays, not row by row."""

    __slots__ = ("columns", "size")

    def __init__(self, columns: dict[str, np.ndarray], size: int) -> None:
        self.columns = columns
        self.size = size

    @classmethod
    def of(
        cls,
        rows: Sequence[Any],
        text: Sequence[str] = (),
        flags: Sequence[str] = (),
        numbers: Sequence[str] = (),
    ) -> Table:
        """``rows`` (named tuples, e.g. SQLAlchemy rows) by the columns named."""
        names = [*text, *flags, *numbers]
        found = dict(zip(rows[0]._fields, zip(*rows, strict=True), strict=True)) if rows else {}
        columns = {
            name: np.array([v or "" for v in found.get(name, ())], dtype=str) for name in text
        } | {
            name: np.array(found.get(name, ()), dtype=bool) for name in flags
        } | {
            name: np.array(found.get(name, ()), dtype=float) for name in numbers
        }  # fmt: skip
        return cls({name: columns[name] for name in names}, len(rows))

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, column: str) -> np.ndarray:
        return self.columns[column]

    def total(self, flag: str) -> int:
        return int(np.count_nonzero(self.columns[flag]))

    def groups(self, by: By) -> dict[str, Table]:
        """The rows by their stratum under ``by`` (rows with an empty key in none)."""
        keys = self.columns[by.column]
        values, inverse = np.unique(keys, return_inverse=True)
        order = np.argsort(inverse, kind="stable")
        bounds = np.searchsorted(inverse[order], np.arange(len(values) + 1))
        return {
            f"{by.kind}/{value}": self._take(order[bounds[i] : bounds[i + 1]])
            for i, value in enumerate(values.tolist())
            if value
        }

    def where(self, mask: np.ndarray) -> Table:
        """The rows where ``mask`` (a bool array over the rows) holds."""
        return self._take(np.flatnonzero(mask))

    def _take(self, index: np.ndarray) -> Table:
        return Table({name: column[index] for name, column in self.columns.items()}, len(index))


def per(
    rows: Sequence[Row] | Table,
    figure: Callable[[Any], Figure],
    *keys: Callable[[Row], str | None],
) -> Result:
    """``figure`` of all ``rows`` and of each group of them by each of ``keys`` (one per
    stratifier; a row whose key is None is in no stratum of that stratifier).  A
    :class:`Table` is grouped by columns, so its keys are :class:`By`."""
    strata: dict[str, Figure] = {}
    for key in keys:
        if isinstance(rows, Table):
            assert isinstance(key, By), "a Table is stratified by its columns"
            groups: dict[str, Any] = rows.groups(key)
        else:
            groups = defaultdict(list)
            for row in rows:
                if (label := key(row)) is not None:
                    groups[label].append(row)
        strata |= {label: figure(group) for label, group in sorted(groups.items())}
    return Result(figure(rows), strata)
