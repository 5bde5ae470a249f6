"""``GET /fhir/ServiceRequest/$turnaround-figures?since=&until=``: for the lab orders placed in
the period by or with the requester's organization (and, for the lead hospital, its members'):
how many, median and 90th percentile of each interval, and the specimen rejection rate."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from gateway.fhir.figures import figures_operation
from storage.clinical.lab_turnaround import figures


def count(session: Session, orgs: set[str], start: datetime, end: datetime) -> dict[str, Any]:
    found = figures(session, orgs, start, end)
    return {
        "orders": found.orders,
        "withSpecimen": found.with_specimen,
        "rejected": found.rejected,
        "rejectionRate": found.rejection_rate,
        "intervals": {
            name: {
                "count": f.count,
                "medianMinutes": f.median_minutes,
                "p90Minutes": f.p90_minutes,
            }
            for name, f in found.intervals.items()
        },
    }


OPERATION = figures_operation(
    "ServiceRequest",
    "turnaround-figures",
    title="Lab turnaround figures (检验周转时间指标)",
    description="For the lab orders placed in a period by or with the requester's "
    "organization (and the members a lead hospital serves): how many, the median and 90th "
    "percentile minutes of each interval, and the specimen rejection rate.",
    answer="orders, withSpecimen, rejected, rejectionRate, intervals (count, medianMinutes, "
    "p90Minutes by interval).",
    count=count,
)
