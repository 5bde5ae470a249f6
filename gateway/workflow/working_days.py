"""Working days by an alliance's calendar (工作日): Monday to Friday, less the days off the
State Council publishes each year (法定节假日), plus the weekend days worked in exchange (调休
上班) — the alliance file's ``calendar``.  A turnaround of N working days (病理报告 3–5 个工作日)
ends with the N-th working day after the day the work arrived, at midnight Beijing time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from gateway.workflow.form_text import BEIJING


@dataclass(frozen=True)
class WorkingDays:
    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()

    @classmethod
    def of(cls, stored: dict[str, Any] | None) -> WorkingDays:
        """The calendar as the registry keeps it (ISO dates); weekdays only when None."""
        stored = stored or {}
        return cls(
            frozenset(date.fromisoformat(d) for d in stored.get("holidays", [])),
            frozenset(date.fromisoformat(d) for d in stored.get("workdays", [])),
        )

    def works(self, day: date) -> bool:
        return day in self.workdays or (day.weekday() < 5 and day not in self.holidays)

    def end_of(self, start: datetime, count: int) -> datetime:
        """The end of the ``count``-th working day after the (Beijing) day of ``start``."""
        day = start.astimezone(BEIJING).date()
        counted = 0
        while counted < count:
            day += timedelta(days=1)
            counted += self.works(day)
        return datetime.combine(day + timedelta(days=1), time(0), BEIJING)
