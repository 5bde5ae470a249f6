"""Indicators of the shared lab (检验中心), as the national clinical-laboratory quality indicators
count them: 检验前周转时间 (collection → receipt in the lab) and 实验室内周转时间 (receipt →
report) as medians and the 90th percentile, and 标本拒收率 (specimens rejected ÷ specimens
sent).  Counted over the commissioned lab orders placed in the period by or with the members
the requester sees; strata: the ordering member for what happens before the lab, the
performing lab for what happens in it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import numpy as np
from sqlalchemy.orm import Session

from gateway.indicators.daily import Register, rows_in
from gateway.indicators.model import (
    By,
    Figure,
    Indicator,
    Result,
    Scope,
    Table,
    minutes,
    per,
    proportion,
)
from storage.clinical import lab_turnaround, register_days

COUNTED = ("preAnalytical", "intraLaboratory")  # the intervals these indicators score
_REQUESTER = By("Organization", "requester_org_id")
_PERFORMER = By("Organization", "performer_org_id")


def _read(session: Session, start: datetime, end: datetime) -> Table:
    rows = lab_turnaround.clocks_in(session, None, start, end, COUNTED)
    return Table.of(rows, text=(_REQUESTER.column, _PERFORMER.column),
                    flags=("specimen", "rejected"), numbers=COUNTED)  # fmt: skip


_REGISTER = Register(register_days.LAB, "lab-clocks-1", _read)


def _orders(session: Session, scope: Scope) -> Table:
    orgs = np.array(sorted(scope.orgs), dtype=str)

    def kept(orders: Table) -> np.ndarray:
        return np.isin(orders[_REQUESTER.column], orgs) | np.isin(orders[_PERFORMER.column], orgs)

    return rows_in(session, _REGISTER, scope, kept)


def _evaluated(figure: Callable[[Table], Figure], by: By) -> Callable[[Session, Scope], Result]:
    def evaluate(session: Session, scope: Scope) -> Result:
        return per(scope.shared("lab", lambda: _orders(session, scope)), figure, by)

    return evaluate


def _interval(name: str, pick: str) -> Callable[[Table], Figure]:
    return lambda orders: minutes(orders[name], pick)


def _rejected(orders: Table) -> Figure:
    rejected = int(np.count_nonzero(orders["specimen"] & orders["rejected"]))
    return proportion(rejected, orders.total("specimen"))


_BY_REQUESTER = ("按开单机构分层。", "Stratified by the ordering member.")
_BY_LAB = ("按检验机构分层。", "Stratified by the performing lab.")

INDICATORS = (
    Indicator(
        id="lab-pre-analytical-median",
        title="检验前周转时间（中位数）",
        title_en="Pre-analytical turnaround (median)",
        scoring="continuous-variable",
        unit="min",
        definition="标本自采集至检验机构接收的分钟数的中位数。" + _BY_REQUESTER[0],
        definition_en="Median minutes from the specimen's collection to its receipt in the "
        "lab. " + _BY_REQUESTER[1],
        stratifiers=("organization",),
        improvement="decrease",
        evaluate=_evaluated(_interval("preAnalytical", "median"), _REQUESTER),
    ),
    Indicator(
        id="lab-intra-laboratory-median",
        title="实验室内周转时间（中位数）",
        title_en="Intra-laboratory turnaround (median)",
        scoring="continuous-variable",
        unit="min",
        definition="标本自检验机构接收至报告发出的分钟数的中位数。" + _BY_LAB[0],
        definition_en="Median minutes from the specimen's receipt in the lab to the report. "
        + _BY_LAB[1],
        stratifiers=("organization",),
        improvement="decrease",
        evaluate=_evaluated(_interval("intraLaboratory", "median"), _PERFORMER),
    ),
    Indicator(
        id="lab-intra-laboratory-p90",
        title="实验室内周转时间（P90）",
        title_en="Intra-laboratory turnaround (P90)",
        scoring="continuous-variable",
        unit="min",
        definition="标本自检验机构接收至报告发出的分钟数的第90百分位数。" + _BY_LAB[0],
        definition_en="90th percentile of the minutes from the specimen's receipt in the lab "
        "to the report. " + _BY_LAB[1],
        stratifiers=("organization",),
        improvement="decrease",
        evaluate=_evaluated(_interval("intraLaboratory", "p90"), _PERFORMER),
    ),
    Indicator(
        id="lab-specimen-rejection-rate",
        title="标本拒收率",
        title_en="Specimen rejection rate",
        scoring="proportion",
        unit="1",
        definition="分子：被检验机构拒收的标本数；分母：送检标本数（有采集、接收或拒收记录的检验医嘱）。"
        + _BY_REQUESTER[0],
        definition_en="Numerator: specimens the lab rejected; denominator: specimens sent "
        "(lab orders with a collection, receipt or rejection). " + _BY_REQUESTER[1],
        stratifiers=("organization",),
        improvement="decrease",
        evaluate=_evaluated(_rejected, _REQUESTER),
    ),
)
