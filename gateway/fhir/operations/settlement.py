"""``GET /fhir/ChargeItem/$settlement?month=2026-12``: the monthly settlement statement (月度结算)
of the requester's organization — for each pair of members it is one of (requesting,
performing; the policy's :func:`~storage.policy.settles`), the lines (service, count, unit fee,
amount) and the pair's total, with the month's total.  Months are Beijing time (a report
signed at 23:30 on 31 December is December's).  Money is exact: amounts are decimal strings
("60.00", CNY), never floating-point numbers.

As CSV with ``_format=csv`` or ``Accept: text/csv``: UTF-8 with a byte-order mark, so Excel
opens the Chinese names correctly; one row per line, then the pair's 合计 row.

Read by the organization's systems (scope ``ChargeItem.r``) and, of its people, administrators
and heads (:func:`~storage.policy.settlement_refusal`); the read is audited."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.auth.routes import Auth
from gateway.errors import BadRequest, Forbidden
from gateway.fhir import interactions
from gateway.fhir.context import Fhir
from gateway.fhir.operation import Operation, Param
from gateway.transactions import audited_read
from storage.clinical.charges import Line, settlement_lines, total
from storage.json_codec import dump_bytes
from storage.models import FeeBasis, Organization
from storage.policy import settlement_refusal

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
CSV_HEADER = ("月份", "申请机构", "执行机构", "服务编码", "服务名称", "计费单位", "数量",
              "单价（元）", "金额（元）")  # fmt: skip
BOM = "\ufeff"


def month_range(month: str, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """``[first moment, first moment of the next month)`` of a ``YYYY-MM`` month in ``zone``,
    in UTC."""
    found = _MONTH.match(month)
    if found is None:
        raise BadRequest(f"month is a month as YYYY-MM (e.g. 2026-12), not {month!r}")
    year, number = int(found[1]), int(found[2])
    if not 1900 <= year <= 9998:
        raise BadRequest(f"month {month!r} is out of range (years 1900 to 9998)")
    start = datetime(year, number, 1, tzinfo=zone)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


@dataclass(frozen=True)
class Pair:
    requesting: str
    performing: str
    lines: list[Line]


def _pairs(lines: list[Line]) -> list[Pair]:
    pairs: dict[tuple[str, str], list[Line]] = {}
    for line in lines:
        pairs.setdefault((line.requesting_org_id, line.performing_org_id), []).append(line)
    return [Pair(r, p, found) for (r, p), found in pairs.items()]


def _yuan(amount: Decimal) -> str:
    return f"{amount:.2f}"


def _line(line: Line) -> dict[str, Any]:
    return {
        "code": line.service_code, "name": line.service_name,
        "basis": line.basis, "basisName": FeeBasis(line.basis).label_zh,
        "count": line.count, "unitFee": _yuan(line.unit_fee), "amount": _yuan(line.amount),
    }  # fmt: skip


def statement(month: str, pairs: list[Pair], names: dict[str, str]) -> dict[str, Any]:
    def org(org_id: str) -> dict[str, str]:
        return {"id": org_id, "name": names.get(org_id, org_id)}

    return {
        "month": month,
        "currency": "CNY",
        "pairs": [
            {
                "requesting": org(pair.requesting),
                "performing": org(pair.performing),
                "lines": [_line(line) for line in pair.lines],
                "count": sum(line.count for line in pair.lines),
                "total": _yuan(total(pair.lines)),
            }
            for pair in pairs
        ],
        "total": _yuan(total(line for pair in pairs for line in pair.lines)),
    }


def statement_csv(answer: dict[str, Any]) -> bytes:
    out = io.StringIO()
    out.write(BOM)
    rows = csv.writer(out, lineterminator="\r\n")
    rows.writerow(CSV_HEADER)
    for pair in answer["pairs"]:
        parties = (answer["month"], pair["requesting"]["name"], pair["performing"]["name"])
        for line in pair["lines"]:
            rows.writerow((*parties, line["code"], line["name"], line["basisName"],
                           line["count"], line["unitFee"], line["amount"]))  # fmt: skip
        rows.writerow((*parties, "", "合计", "", pair["count"], "", pair["total"]))
    rows.writerow((answer["month"], "", "", "", "总计", "", "", "", answer["total"]))
    return out.getvalue().encode("utf-8")


def _wants_csv(request: Request) -> bool:
    wanted = request.query_params.get("_format") or request.headers.get("accept") or ""
    return "csv" in wanted


def mount(api: APIRouter, fhir: Fhir) -> None:
    @api.get("/ChargeItem/$settlement", name="settlement")
    async def settlement(request: Request, requester: Auth, month: str = "") -> Response:
        interactions.authorize(requester, "ChargeItem", "r")
        refusal = settlement_refusal(requester.kind == "user", requester.roles)
        if refusal is not None:
            raise Forbidden(refusal)
        zone = ZoneInfo(fhir.platform.settings.local_timezone)
        month = month or datetime.now(zone).strftime("%Y-%m")
        start, end = month_range(month, zone)

        def work(session: Session) -> dict[str, Any]:
            pairs = _pairs(settlement_lines(session, requester.org_id, start, end))
            ids = {o for p in pairs for o in (p.requesting, p.performing)}
            names = dict(
                session.execute(
                    select(Organization.id, Organization.name).where(Organization.id.in_(ids))
                ).all()
            )
            interactions.audit_fhir(
                session, requester, "operation", "ChargeItem", face="settlement", month=month,
                pairs=[f"{p.requesting}>{p.performing}" for p in pairs],
            )  # fmt: skip
            return statement(month, pairs, names)

        answer = await audited_read(fhir.platform, work)
        if _wants_csv(request):
            disposition = f'attachment; filename="settlement-{month}.csv"'
            return Response(statement_csv(answer), media_type="text/csv; charset=utf-8",
                            headers={"Content-Disposition": disposition})  # fmt: skip
        return Response(dump_bytes(answer), media_type="application/fhir+json")


OPERATION = Operation(
    code="settlement",
    title="Monthly settlement between members (月度结算)",
    description="For a month (YYYY-MM, Beijing time; default this month), each pair of members "
    "the requester's organization is one of — requesting and performing — with the lines "
    "(service, count, unit fee, amount) and totals of the remote services completed, at the "
    "catalogue's fee of the time. _format=csv (or Accept: text/csv) answers CSV, UTF-8 with a "
    "byte-order mark.",
    resources=("ChargeItem",),
    type_level=True,
    parameters=(
        Param("month", "in", "string", "the month, YYYY-MM (default: this month)"),
        Param("_format", "in", "string", "csv for CSV (UTF-8 with BOM)"),
    ),
    answer="month, currency, pairs (requesting, performing, lines: code, name, basis, "
    "basisName, count, unitFee, amount; count, total), total; amounts are decimal strings.",
    mount=mount,
)
