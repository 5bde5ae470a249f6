"""Indicators of remote reading (基层检查、上级诊断): how many exams the shared centres were asked
to read, how long from complete images to the verified report (the 报告时限 clock), and how
many were verified in time.  Counted over the reading Tasks of the orders placed in the period
by the members the requester sees or read by their centres; strata: the centre
(``HealthcareService``) and the order's priority."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

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
    count,
    minutes,
    per,
    proportion,
)
from storage.clinical import reading_milestones, register_days
from storage.registry import centres_of

# FHIR request-priority, as a clinician reads it.
PRIORITIES = {"routine": "常规", "urgent": "加急", "asap": "尽快", "stat": "急诊"}
_CENTRE = By("HealthcareService", "centre_id")
_PRIORITY = By("Priority", "priority")
_STRATA = (
    "按诊断中心与医嘱优先级分层。",
    "Stratified by the reading centre and by the order's priority.",
)


def tasks(session: Session, scope: Scope) -> Table:
    """The scope's reading Tasks as columns, read once per scope (the chest-pain indicators
    count a part of them)."""
    return scope.shared("reading", lambda: _tasks(session, scope))


def _tasks(session: Session, scope: Scope) -> Table:
    orgs = np.array(sorted(scope.orgs), dtype=str)
    centres = np.array(sorted(centres_of(session, scope.orgs)), dtype=str)

    def kept(tasks: Table) -> np.ndarray:
        return np.isin(tasks["requester_org_id"], orgs) | np.isin(tasks[_CENTRE.column], centres)

    return rows_in(session, _REGISTER, scope, kept)


def _read(session: Session, start: datetime, end: datetime) -> Table:
    # The time now only decides ``overdue``, which is not kept.
    rows = reading_milestones.clocks_in(
        session, None, None, start, end, datetime.now(UTC), ("imagesToReport",))  # fmt: skip
    return Table.of(rows, text=(_CENTRE.column, _PRIORITY.column, "requester_org_id"),
                    flags=("verified", "on_time"), numbers=("imagesToReport",))  # fmt: skip


_REGISTER = Register(register_days.READING, "reading-clocks-1", _read)


def _evaluated(figure: Callable[[Table], Figure]) -> Callable[[Session, Scope], Result]:
    def evaluate(session: Session, scope: Scope) -> Result:
        return per(tasks(session, scope), figure, _CENTRE, _PRIORITY)

    return evaluate


def _on_time(tasks: Table) -> Figure:
    return proportion(tasks.total("on_time"), tasks.total("verified"))


def _turnaround(pick: str) -> Callable[[Table], Figure]:
    return lambda tasks: minutes(tasks["imagesToReport"], pick)


INDICATORS = (
    Indicator(
        id="reading-volume",
        title="远程诊断量",
        title_en="Remote readings requested",
        scoring="cohort",
        unit="1",
        definition="统计期内开具的、由诊断中心远程阅片的检查例数（阅片任务数）。" + _STRATA[0],
        definition_en="Exams ordered in the period for a shared centre to read remotely "
        "(reading tasks). " + _STRATA[1],
        stratifiers=("centre", "priority"),
        improvement="increase",
        evaluate=_evaluated(count),
    ),
    Indicator(
        id="reading-turnaround-median",
        title="远程诊断报告周转时间（中位数）",
        title_en="Remote-reading turnaround (median)",
        scoring="continuous-variable",
        unit="min",
        definition="已审核报告自图像接收完整至报告审核的分钟数的中位数。" + _STRATA[0],
        definition_en="Median minutes from complete images to the verified report, of the "
        "reports verified. " + _STRATA[1],
        stratifiers=("centre", "priority"),
        improvement="decrease",
        evaluate=_evaluated(_turnaround("median")),
    ),
    Indicator(
        id="reading-turnaround-p90",
        title="远程诊断报告周转时间（P90）",
        title_en="Remote-reading turnaround (P90)",
        scoring="continuous-variable",
        unit="min",
        definition="已审核报告自图像接收完整至报告审核的分钟数的第90百分位数。" + _STRATA[0],
        definition_en="90th percentile of the minutes from complete images to the verified "
        "report, of the reports verified. " + _STRATA[1],
        stratifiers=("centre", "priority"),
        improvement="decrease",
        evaluate=_evaluated(_turnaround("p90")),
    ),
    Indicator(
        id="reading-on-time-rate",
        title="远程诊断报告及时率",
        title_en="Remote-reading reports on time",
        scoring="proportion",
        unit="1",
        definition="分子：在报告时限内审核的报告数；分母：已审核的报告数。" + _STRATA[0],
        definition_en="Numerator: reports verified by their due time; denominator: reports "
        "verified. " + _STRATA[1],
        stratifiers=("centre", "priority"),
        improvement="increase",
        evaluate=_evaluated(_on_time),
    ),
)
