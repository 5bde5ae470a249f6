"""``GET /fhir/Observation/{id}/$chart``: an ECG Observation (MDC 131328 with its leads as
``valueSampledData``) drawn as the 12-lead chart on standard paper — 25 mm/s, 10 mm/mV — as SVG
(:mod:`gateway.ecg.chart`), or PNG when the client accepts only that (``Accept: image/png``,
:mod:`gateway.ecg.chart_png`).  Whoever may read the Observation may see its chart; the read is
audited as ``chart``."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from gateway.auth.routes import Auth
from gateway.ecg.chart import chart_svg
from gateway.ecg.chart_png import chart_png
from gateway.ecg.observation import recording_of
from gateway.errors import BadRequest, NotAcceptable
from gateway.fhir.context import Fhir
from gateway.fhir.operation import Operation, Param

SVG, PNG = "image/svg+xml", "image/png"


def mount(api: APIRouter, fhir: Fhir) -> None:
    @api.get("/Observation/{observation_id}/$chart", response_class=Response)
    async def chart(request: Request, requester: Auth, observation_id: str) -> Response:
        accepted = {a.split(";")[0].strip() for a in request.headers.get("accept", "").split(",")}
        png = not {"", "*/*", "image/*", SVG} & accepted  # SVG unless only PNG will do
        if png and PNG not in accepted:
            raise NotAcceptable(f"the chart is offered as {SVG} or {PNG}")
        stored = await fhir.current(requester, "Observation", observation_id, "chart")
        recording = recording_of(stored.content or {})
        if recording is None:
            raise BadRequest(f"Observation/{observation_id} holds no ECG lead to draw")
        if png:
            return Response(await run_in_threadpool(chart_png, recording), media_type=PNG)
        svg = await run_in_threadpool(chart_svg, recording)
        return Response(svg.encode(), media_type=SVG)


OPERATION = Operation(
    code="chart",
    title="12-lead ECG chart (心电图)",
    description="The ECG Observation drawn on standard ECG paper as SVG (image/svg+xml; or "
    "image/png at 8 pixels per millimetre when only that is accepted): "
    "25 mm/s, 10 mm/mV, 1 mm and 5 mm grid, 1 mV calibration pulse, leads 3 × 4 and a lead II "
    "rhythm strip, labels, speed, gain and the device's measurements printed; one SVG unit is "
    "one millimetre.",
    resources=("Observation",),
    instance_level=True,
    parameters=(Param("return", "out", "Binary", "the chart, image/svg+xml or image/png", 1),),
    mount=mount,
)
