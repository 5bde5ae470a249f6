"""Clock figures the clinical registers share: the minutes between two moments — in Python, or
computed by the database (:class:`sql_minutes`, so that a year of rows comes back as numbers,
not as timestamps to parse) — and a group of such minutes as count, median and 90th
percentile (报告时限 and 周转时间 are read this way)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import Float
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


def minutes_between(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return round((end - start).total_seconds() / 60, 1)


class sql_minutes(FunctionElement[float]):
    """``sql_minutes(start, end)``: the minutes from one timestamp column to another, NULL when
    either is."""

    type = Float()
    inherit_cache = True


@compiles(sql_minutes, "sqlite")
def _sqlite_minutes(element: sql_minutes, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"((julianday({end}) - julianday({start})) * 1440.0)"


@compiles(sql_minutes)
def _minutes(element: sql_minutes, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"(EXTRACT(EPOCH FROM ({end} - {start})) / 60.0)"


@dataclass(frozen=True, slots=True)
class IntervalFigures:
    count: int
    median_minutes: float | None
    p90_minutes: float | None


def interval_figures(minutes: Iterable[float | None] | np.ndarray) -> IntervalFigures:
    """Count, median and P90 (the value ranked ⌊0.9·n⌋ from 0) of ``minutes`` rounded to a
    tenth; None values are not counted."""
    values = np.asarray(minutes if isinstance(minutes, np.ndarray) else list(minutes), float)
    values = np.sort(np.round(values[~np.isnan(values)], 1))
    if not values.size:
        return IntervalFigures(0, None, None)
    middle = (values[(values.size - 1) // 2] + values[values.size // 2]) / 2
    p90 = values[9 * values.size // 10]
    return IntervalFigures(int(values.size), round(float(middle), 2), float(p90))
