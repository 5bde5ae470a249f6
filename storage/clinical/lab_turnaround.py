"""Lab turnaround times (检验周转时间), as the national clinical-laboratory quality indicators
count them: 检验前周转时间 from collection to receipt in the lab, 实验室内周转时间 from receipt
to the report, and the rate of rejected specimens (标本拒收率).

Each commissioned lab order (a ServiceRequest) has one row of milestones, filled from whatever
is written about it, by whichever service: the order (开单, who ordered, who performs), its
specimens (采集 collected, 接收 received, 拒收 rejected with the reason), its delivery to the
LIS (送检) and its first final report (报告).  A milestone keeps the earliest time learnt.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from storage.clinical.intervals import (
    IntervalFigures,
    interval_figures,
    minutes_between,
    sql_minutes,
)
from storage.clinical.recognition_marks import RELEASED
from storage.models import LabTurnaround

MILESTONES = ("ordered", "collected", "sent", "received", "rejected", "reported")
# name -> (from milestone, to milestone)
INTERVALS = {
    "preAnalytical": ("collected", "received"),  # 检验前周转时间
    "intraLaboratory": ("received", "reported"),  # 实验室内周转时间
    "collectionToReport": ("collected", "reported"),
    "orderToReport": ("ordered", "reported"),
}


def _moment(text: Any) -> datetime | None:
    """A FHIR dateTime with a time of day, in UTC (a bare date says too little)."""
    if not isinstance(text, str) or "T" not in text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else None


def _orders(references: Any) -> list[str]:
    return [
        str(r["reference"]).removeprefix("ServiceRequest/")
        for r in references or []
        if isinstance(r, dict) and str(r.get("reference", "")).startswith("ServiceRequest/")
    ]


def _organization(reference: Any) -> str | None:
    text = str((reference or {}).get("reference", ""))
    return text.removeprefix("Organization/") if text.startswith("Organization/") else None


def _row(session: Session, order_id: str) -> LabTurnaround:
    row = session.get(LabTurnaround, order_id)
    if row is None:
        row = LabTurnaround(order_id=order_id)
        session.add(row)
    return row


def _earliest(row: LabTurnaround, milestone: str, moment: datetime | None) -> None:
    current = getattr(row, f"{milestone}_at")
    if moment is not None and (current is None or moment < current):
        setattr(row, f"{milestone}_at", moment)


def note(session: Session, resource: dict[str, Any], owner_org_id: str | None) -> None:
    """What a written ServiceRequest (a lab order), Specimen or DiagnosticReport says about
    the milestones of the orders it belongs to."""
    kind = resource.get("resourceType")
    if kind == "ServiceRequest":
        row = _row(session, str(resource["id"]))
        row.requester_org_id = _organization(resource.get("requester")) or owner_org_id
        performers = [_organization(p) for p in resource.get("performer", [])]
        row.performer_org_id = next((p for p in performers if p), row.performer_org_id)
        _earliest(row, "ordered", _moment(resource.get("authoredOn")))
    elif kind == "Specimen":
        for order_id in _orders(resource.get("request")):
            row = _row(session, order_id)
            row.specimen = row.specimen or str(resource["id"])
            collection = resource.get("collection", {})
            _earliest(row, "collected", _moment(collection.get("collectedDateTime")))
            _earliest(row, "received", _moment(resource.get("receivedTime")))
            if resource.get("status") == "unsatisfactory":
                _earliest(row, "rejected", _moment(resource.get("meta", {}).get("lastUpdated")))
                notes = [n.get("text", "") for n in resource.get("note", [])]
                row.rejection_reason = (next((n for n in notes if n), None) or "")[:200] or None
    elif kind == "DiagnosticReport" and resource.get("status") in RELEASED:
        for order_id in _orders(resource.get("basedOn")):
            row = session.get(LabTurnaround, order_id)
            if row is not None:  # reports of other orders (imaging) are not counted here
                _earliest(row, "reported", _moment(resource.get("issued")))


def note_sent(session: Session, order_id: str, at: datetime) -> None:
    _earliest(_row(session, order_id), "sent", at)


def of_order(session: Session, order_id: str) -> LabTurnaround | None:
    return session.get(LabTurnaround, order_id)


def minutes(row: LabTurnaround, interval: str) -> float | None:
    return minutes_between(*(getattr(row, f"{m}_at") for m in INTERVALS[interval]))


@dataclass(frozen=True, slots=True)
class TurnaroundFigures:
    orders: int
    with_specimen: int
    rejected: int
    intervals: dict[str, IntervalFigures]

    @property
    def rejection_rate(self) -> float | None:
        return round(self.rejected / self.with_specimen, 4) if self.with_specimen else None


def clocks_in(
    session: Session,
    orgs: set[str] | None,
    since: datetime,
    until: datetime,
    wanted: Iterable[str] = tuple(INTERVALS),
) -> list[Any]:
    """The orders placed in ``[since, until)`` by or with ``orgs`` (None: every
    organization's), as rows of
    ``requester_org_id``, ``performer_org_id``, ``specimen`` (one was collected, received or
    rejected), ``rejected`` and the ``wanted`` intervals' minutes by name (None when a
    milestone is missing), the minutes computed by the database."""
    row = LabTurnaround
    intervals = [
        sql_minutes(getattr(row, f"{start}_at"), getattr(row, f"{end}_at")).label(name)
        for name in wanted
        for start, end in [INTERVALS[name]]
    ]
    specimen = or_(row.collected_at.is_not(None), row.received_at.is_not(None),
                   row.rejected_at.is_not(None))  # fmt: skip
    statement = select(
        row.requester_org_id, row.performer_org_id, specimen.label("specimen"),
        row.rejected_at.is_not(None).label("rejected"), *intervals,
    ).where(row.ordered_at >= since, row.ordered_at < until)  # fmt: skip
    if orgs is not None:
        statement = statement.where(
            or_(row.requester_org_id.in_(orgs), row.performer_org_id.in_(orgs))
        )
    return list(session.execute(statement).all())


def figures(
    session: Session, orgs: set[str], since: datetime, until: datetime
) -> TurnaroundFigures:
    """The figures of the orders placed in ``[since, until)`` by or with ``orgs``."""
    rows = clocks_in(session, orgs, since, until)
    return TurnaroundFigures(
        orders=len(rows),
        with_specimen=sum(1 for r in rows if r.specimen),
        rejected=sum(1 for r in rows if r.rejected),
        intervals={name: interval_figures(getattr(r, name) for r in rows) for name in INTERVALS},
    )
