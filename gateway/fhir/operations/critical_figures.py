"""``GET /fhir/Communication/$critical-figures?since=&until=``: raised, acknowledged, on time,
escalated, open, median minutes to acknowledge, and the timeliness rate, for the alerts the
requester's organization raised or received (and, for the lead hospital, its members')."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from gateway.fhir.figures import figures_operation
from storage.clinical.critical_alerts import figures


def count(session: Session, orgs: set[str], start: datetime, end: datetime) -> dict[str, Any]:
    found = figures(session, orgs, start, end)
    return {
        "raised": found.raised, "acknowledged": found.acknowledged,
        "onTime": found.on_time, "escalated": found.escalated, "open": found.open,
        "medianMinutes": found.median_minutes, "timeliness": found.timeliness,
    }  # fmt: skip


OPERATION = figures_operation(
    "Communication",
    "critical-figures",
    title="Critical-value figures (危急值指标)",
    description="For the alerts raised or received in a period by the requester's "
    "organization (and the members a lead hospital serves): how many were raised, "
    "acknowledged, on time, escalated and open, and the minutes to acknowledge.",
    answer="raised, acknowledged, onTime, escalated, open, medianMinutes, timeliness.",
    count=count,
)
