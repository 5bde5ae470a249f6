"""``$evaluate-measure`` (FHIR R4, summary reports only): the alliance's indicators
(:mod:`gateway.indicators`) over a period for the organizations the requester sees — its own,
and for the lead hospital its members'.

- ``GET /fhir/Measure/{id}/$evaluate-measure?periodStart=2026-11-01&periodEnd=2026-11-30``:
  one ``MeasureReport``;
- ``GET /fhir/Measure/$evaluate-measure?periodStart=…&periodEnd=…`` (``measure`` to choose,
  else every indicator): a ``Bundle`` of them, or with ``_format=csv`` (or ``Accept: text/csv``)
  one CSV for the spreadsheet the alliance hands in.

``periodEnd`` is the last day counted (inclusive, as FHIR has it); days are the alliance's local
days.  The figures are counts, no patient is named.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from gateway.auth.routes import Auth
from gateway.errors import BadRequest, NotFound
from gateway.fhir import interactions
from gateway.fhir.context import Fhir
from gateway.fhir.operation import Operation, Param
from gateway.indicators.measures import INDICATORS, by_id
from gateway.indicators.model import Indicator, Scope
from gateway.indicators.reports import csv_text, measure_report
from gateway.transactions import audited_read, json_read
from storage.policy import visible_orgs

CSV = "text/csv; charset=utf-8"


def _period(platform: Any, start: str, end: str) -> tuple[datetime, datetime]:
    """``[periodStart 00:00, the day after periodEnd 00:00)`` in the alliance's time zone."""
    try:
        first, last = date.fromisoformat(start), date.fromisoformat(end)
    except ValueError:
        raise BadRequest("periodStart and periodEnd are dates (YYYY-MM-DD)") from None
    if last < first:
        raise BadRequest("periodEnd is before periodStart")
    zone = ZoneInfo(platform.settings.local_timezone)
    return datetime.combine(first, time(), zone), datetime.combine(
        last + timedelta(days=1), time(), zone
    )


def _chosen(names: str) -> list[Indicator]:
    if not names:
        return list(INDICATORS)
    known = by_id()
    unknown = [name for name in names.split(",") if name not in known]
    if unknown:
        raise NotFound(f"no indicator {', '.join(unknown)}: see GET /fhir/Measure")
    return [known[name] for name in names.split(",")]


def mount(api: APIRouter, fhir: Fhir) -> None:
    platform = fhir.platform

    def evaluate(
        requester: Any, indicators: list[Indicator], period_start: str, period_end: str
    ) -> Any:
        interactions.authorize(requester, "Measure", "r")
        start, end = _period(platform, period_start, period_end)

        def work(session: Session) -> list[tuple[Indicator, Any]]:
            scope = Scope(visible_orgs(session, requester.org_id), start, end)
            return [(i, i.evaluate(session, scope)) for i in indicators]

        return start, end, work

    @api.get("/Measure/$evaluate-measure", name="evaluate-measure")
    async def evaluate_all(
        requester: Auth,
        request: Request,
        periodStart: str = "",
        periodEnd: str = "",
        measure: str = "",
        _format: str = "",
    ) -> Response:
        start, end, evaluated = evaluate(requester, _chosen(measure), periodStart, periodEnd)
        wants_csv = _format in ("csv", "text/csv") or "text/csv" in request.headers.get(
            "accept", ""
        )
        if wants_csv:
            text = await audited_read(platform, lambda s: csv_text(s, evaluated(s)))
            return Response(text.encode("utf-8"), media_type=CSV, headers={
                "Content-Disposition": f'attachment; filename="indicators-{periodStart}-'
                f'{periodEnd}.csv"'})  # fmt: skip

        def bundle(session: Session) -> dict[str, Any]:
            reports = [measure_report(session, i, r, start, end, requester.org_id)
                       for i, r in evaluated(session)]  # fmt: skip
            return {"resourceType": "Bundle", "type": "collection", "total": len(reports),
                    "entry": [{"resource": report} for report in reports]}  # fmt: skip

        return await json_read(platform, bundle)

    @api.get("/Measure/{measure_id}/$evaluate-measure", name="evaluate-one-measure")
    async def evaluate_one(
        requester: Auth,
        measure_id: str,
        periodStart: str = "",
        periodEnd: str = "",
    ) -> Response:
        [indicator] = _chosen(measure_id)
        start, end, evaluated = evaluate(requester, [indicator], periodStart, periodEnd)

        def one(session: Session) -> dict[str, Any]:
            [(_, result)] = evaluated(session)
            return measure_report(session, indicator, result, start, end, requester.org_id)

        return await json_read(platform, one)


OPERATION = Operation(
    code="evaluate-measure",
    title="Evaluate the alliance's indicators (医联体绩效考核指标)",
    description="The summary MeasureReport of an indicator (a Measure of this server) over a "
    "period, for the organizations the requester sees: counts and score overall and per "
    "stratum. At the type level every indicator (or those named by measure), as a Bundle or "
    "with _format=csv as CSV.",
    resources=("Measure",),
    type_level=True,
    instance_level=True,
    parameters=(
        Param("periodStart", "in", "date", "the first day counted (YYYY-MM-DD)", min=1),
        Param("periodEnd", "in", "date", "the last day counted (YYYY-MM-DD, inclusive)", min=1),
        Param("measure", "in", "string", "type level: indicator ids, comma-separated"),
        Param("return", "out", "MeasureReport", "the report (a Bundle of them at type level)"),
    ),
    base="http://hl7.org/fhir/OperationDefinition/Measure-evaluate-measure",
    mount=mount,
)
