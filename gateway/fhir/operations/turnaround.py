"""``GET /fhir/ServiceRequest/{id}/$turnaround``: a lab order's milestones (开单 ordered, 采集
collected, 送检 sent to the LIS, 接收 received, 拒收 rejected with the reason, 报告 reported),
where it stands, and the minutes between them (检验前周转时间, 实验室内周转时间, …)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from sqlalchemy.orm import Session

from gateway.auth.routes import Auth
from gateway.errors import NotFound
from gateway.fhir import interactions
from gateway.fhir.context import Fhir
from gateway.fhir.operation import Operation
from gateway.transactions import json_answer
from storage.clinical.lab_turnaround import INTERVALS, MILESTONES, minutes, of_order
from storage.fhir import instant, read_many
from storage.policy import fhir_viewer


def mount(api: APIRouter, fhir: Fhir) -> None:
    @api.get("/ServiceRequest/{order_id}/$turnaround")
    async def turnaround(requester: Auth, order_id: str) -> Response:
        interactions.authorize(requester, "ServiceRequest", "r")

        def work(session: Session) -> dict[str, Any]:
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

        return await json_answer(fhir.platform, work)


OPERATION = Operation(
    code="turnaround",
    title="Turnaround of a lab order (检验周转时间)",
    description="The order's milestones (ordered, collected, sent, received, rejected, "
    "reported), the stage it has reached, and the minutes between milestones.",
    resources=("ServiceRequest",),
    instance_level=True,
    answer="order, specimen, stage, milestones (instants by name), rejectionReason, "
    "minutes (by interval).",
    mount=mount,
)
