"""``GET /fhir/Task/$reading-figures?since=&until=``: remote-reading turnaround for the orders
placed in the period by the requester's organizations or read by their centres — overall and
by modality, priority and centre: how many, signed on time (on-time rate), still open past
due, and the median and 90th percentile minutes of each interval (order → report, images →
report, waiting for a reader, reading, verification, the exam itself)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from gateway.fhir.figures import figures_operation
from storage.clinical import reading_milestones
from storage.registry import centres_of


def count(session: Session, orgs: set[str], start: datetime, end: datetime) -> dict[str, Any]:
    found = reading_milestones.figures(
        session, orgs, centres_of(session, orgs), start, end, datetime.now(UTC)
    )
    return {
        group: {key: _shown(figures) for key, figures in by.items()} for group, by in found.items()
    }


def _shown(figures: reading_milestones.Figures) -> dict[str, Any]:
    return {
        "tasks": figures.tasks,
        "verified": figures.verified,
        "onTime": figures.on_time,
        "onTimeRate": figures.on_time_rate,
        "overdueOpen": figures.overdue_open,
        "intervals": {
            name: {"count": f.count, "medianMinutes": f.median_minutes, "p90Minutes": f.p90_minutes}
            for name, f in figures.intervals.items()
        },
    }


OPERATION = figures_operation(
    "Task",
    "reading-figures",
    title="Remote-reading turnaround figures (远程诊断报告时限指标)",
    description="For the reading tasks of the orders placed in a period by the requester's "
    "organizations or read by their centres: counts, on-time rate, open past due, and the "
    "median and 90th percentile minutes of each interval — overall, by modality, priority "
    "and centre.",
    answer="all, modality, priority, centre: each a map of group -> tasks, verified, onTime, "
    "onTimeRate, overdueOpen, intervals (count, medianMinutes, p90Minutes by interval).",
    count=count,
)
