"""``GET /fhir/ServiceRequest/{id}/$turnaround``: an order read by a shared centre — the steps
of its reading (ordered, exam, images complete, claimed, preliminary, verified, delivered…),
due time, on time or not, the minutes between steps; or a lab order's milestones (开单 ordered, 采集
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
from gateway.transactions import json_read
from storage.clinical import reading_milestones
from storage.clinical.lab_turnaround import INTERVALS, MILESTONES, minutes, of_order
from storage.clinical.reading_milestones import INTERVALS as READING_INTERVALS
from storage.fhir import instant, read_many
from storage.models import ReadingMilestones
from storage.policy import fhir_viewer

# The steps of a reading, in order, with their columns.
READING_STEPS = (
    ("ordered", "ordered_at"), ("exam-started", "exam_started_at"),
    ("exam-ended", "exam_ended_at"), ("images-complete", "images_at"),
    ("claimed", "claimed_at"), ("preliminary", "preliminary_at"), ("verified", "verified_at"),
    ("returned", "returned_at"), ("delivered", "delivered_at"), ("amended", "amended_at"),
)  # fmt: skip


def mount(api: APIRouter, fhir: Fhir) -> None:
    @api.get("/ServiceRequest/{order_id}/$turnaround")
    async def turnaround(requester: Auth, order_id: str) -> Response:
        interactions.authorize(requester, "ServiceRequest", "r")

        def work(session: Session) -> dict[str, Any]:
            visible = read_many(
                session, [f"ServiceRequest/{order_id}"], fhir_viewer(session, requester.org_id)
            )
            row = of_order(session, order_id)
            readings = reading_milestones.for_order(session, order_id)
            if not visible or (row is None and not readings):
                raise NotFound(f"ServiceRequest/{order_id} is not an order known here")
            interactions.audit_fhir(session, requester, "read", "ServiceRequest", id=order_id)
            if row is None:
                return _reading(order_id, readings[-1])
            reached = {m: at for m in MILESTONES if (at := getattr(row, f"{m}_at")) is not None}
            return {
                "order": f"ServiceRequest/{order_id}",
                "specimen": f"Specimen/{row.specimen}" if row.specimen else None,
                "stage": list(reached)[-1] if reached else None,  # the furthest reached
                "milestones": {m: instant(at) for m, at in reached.items()},
                "rejectionReason": row.rejection_reason,
                "minutes": {name: minutes(row, name) for name in INTERVALS},
            }

        return await json_read(fhir.platform, work)


def _reading(order_id: str, row: ReadingMilestones) -> dict[str, Any]:
    """An order read by a centre: the steps of its reading and the clocks between them."""
    reached = {
        step: instant(at) for step, column in READING_STEPS
        if (at := getattr(row, column)) is not None
    }  # fmt: skip
    return {
        "order": f"ServiceRequest/{order_id}",
        "task": f"Task/{row.task_id}",
        "stage": list(reached)[-1] if reached else None,
        "due": instant(row.due_at),
        "onTime": None if row.verified_at is None else row.verified_at <= row.due_at,
        "milestones": reached,
        "author": row.author,
        "verifier": row.verifier,
        "minutes": {name: reading_milestones.minutes(row, name) for name in READING_INTERVALS},
    }


OPERATION = Operation(
    code="turnaround",
    title="Turnaround of an order (报告时限、检验周转时间)",
    description="An order read by a shared centre: the steps of its reading, its due time, "
    "whether it was signed on time and the minutes between steps.  A lab order: its "
    "milestones (ordered, collected, sent, received, rejected, reported), the stage it has "
    "reached, and the minutes between milestones.",
    resources=("ServiceRequest",),
    instance_level=True,
    answer="order, stage, milestones (instants by name), minutes (by interval); a reading "
    "also task, due, onTime, author, verifier; a lab order specimen, rejectionReason.",
    mount=mount,
)
