"""Clock figures the clinical registers share: the minutes between two moments, and a group of
such minutes as count, median and 90th percentile (报告时限 and 周转时间 are read this way)."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime


def minutes_between(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return round((end - start).total_seconds() / 60, 1)


@dataclass(frozen=True, slots=True)
class IntervalFigures:
    count: int
    median_minutes: float | None
    p90_minutes: float | None


def interval_figures(minutes: Iterable[float | None]) -> IntervalFigures:
    values = sorted(m for m in minutes if m is not None)
    if not values:
        return IntervalFigures(0, None, None)
    p90 = values[min(len(values) - 1, int(0.9 * len(values)))]
    return IntervalFigures(len(values), statistics.median(values), p90)
