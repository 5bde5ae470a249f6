"""``GET /fhir/Subscription/{id}/$status``: the delivery state of a Subscription's
notifications (how many pending, done and dead, and the last error)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from gateway.auth.routes import Auth
from gateway.fhir import subscriptions
from gateway.fhir.context import Fhir
from gateway.fhir.http import check_format, fhir_json
from gateway.fhir.operation import Operation, Param


def mount(api: APIRouter, fhir: Fhir) -> None:
    @api.get("/Subscription/{subscription_id}/$status")
    async def subscription_status(
        request: Request, requester: Auth, subscription_id: str
    ) -> Response:
        check_format(request)
        # 404 unless the requester may see the Subscription
        await fhir.current(requester, "Subscription", subscription_id, "status")
        status = await run_in_threadpool(
            subscriptions.delivery_status, fhir.platform, subscription_id
        )
        return fhir_json(status)


OPERATION = Operation(
    code="status",
    title="Delivery state of a Subscription",
    description="How many of the Subscription's notifications are pending, done (delivered) "
    "and dead (given up after retries), and the last delivery error.",
    resources=("Subscription",),
    instance_level=True,
    parameters=(
        Param("return", "out", "Parameters", "pending, done, dead (integers), last-error", 1),
    ),
    mount=mount,
)
