"""Lab turnaround at the FHIR API: what a clinic sees of its commissioned lab orders.

- ``GET /fhir/ServiceRequest/{id}/$turnaround``: the order's milestones (开单 ordered, 采集
  collected, 送检 sent to the LIS, 接收 received, 拒收 rejected with the reason, 报告 reported),
  where it stands, and the minutes between them (检验前周转时间, 实验室内周转时间, …).
- ``GET /fhir/ServiceRequest/$turnaround-figures?since=&until=``: for the orders placed in the
  period by or with the requester's organization (and, for the lead hospital, its members'):
  how many, median and 90th percentile of each interval, and the specimen rejection rate.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Response
from sqlalchemy.orm import Session

from gateway.auth.routes import Auth
from gateway.errors import NotFound
from gateway.fhir import interactions
from gateway.fhir.figures import figures_answer
from gateway.transactions import json_answer
from storage.clinical.lab_turnaround import INTERVALS, MILESTONES, figures, minutes, of_order
from storage.fhir import instant, read_many
from storage.platform import Platform
from storage.policy import fhir_viewer


def router(platform: Platform) -> APIRouter:
    api = APIRouter(prefix="/fhir/ServiceRequest", tags=["FHIR"])

    @api.get("/{order_id}/$turnaround")
    async def turnaround(requester: Auth, order_id: str) -> Response:
        interactions.authorize(requester, "ServiceRequest", "r")

        def work(session: Any) -> dict[str, Any]:
            visible = read_many(
                session, [f"ServiceRequest/{order_id}"], fhir_viewer(session, requester.org_id)
            )
            row = of_order(session, order_id)
            if not visible or row is None:
                raise NotFound(f"ServiceRequest/{order_id} is not a lab order known here")
            interactions.audit_fhir(session, requester, "read", "ServiceRequest", id=order_id)
            reached = {m: at for m in MILESTONES if (at := getattr(row, f"{m}_at")) is not None}
            return {
                "order": f"ServiceRequest/{order_id}",
                "specimen": f"Specimen/{row.specimen}" if row.specimen else None,
                "stage": list(reached)[-1] if reached else None,  # the furthest reached
                "milestones": {m: instant(at) for m, at in reached.items()},
                "rejectionReason": row.rejection_reason,
                "minutes": {name: minutes(row, name) for name in INTERVALS},
            }

        return await json_answer(platform, work)

    @api.get("/$turnaround-figures")
    async def turnaround_figures(
        requester: Auth, since: str = "1970-01-01", until: str = "9999-12-31"
    ) -> Response:
        def count(
            session: Session, orgs: set[str], start: datetime, end: datetime
        ) -> dict[str, Any]:
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

        return await figures_answer(platform, requester, "ServiceRequest", since, until, count)

    return api
