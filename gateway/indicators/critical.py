"""Indicators of critical values (危急值): how many were notified — acknowledged by the
clinical side, with the read-back — and how many in time (by the organization told first,
before the first deadline, without escalation), and how long acknowledgement took.  Counted
over the alerts (lab, imaging, ECG) raised in the period by or for the members the requester
sees; strata: the organization that had to act."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

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
from storage.clinical import critical_alerts

_RECIPIENT = By("Organization", "recipient_org_id")
_STRATA = (
    "按须处置的机构（开单机构）分层。",
    "Stratified by the organization that had to act (the orderer).",
)


def _alerts(session: Session, scope: Scope) -> Table:
    rows = critical_alerts.clocks_in(session, scope.orgs, scope.start, scope.end)
    return Table.of(rows, text=(_RECIPIENT.column,), flags=("acknowledged", "on_time"),
                    numbers=("minutes",))  # fmt: skip


def _evaluated(figure: Callable[[Table], Figure]) -> Callable[[Session, Scope], Result]:
    def evaluate(session: Session, scope: Scope) -> Result:
        return per(scope.shared("critical", lambda: _alerts(session, scope)), figure, _RECIPIENT)

    return evaluate


def _notified(alerts: Table) -> Figure:
    return proportion(alerts.total("acknowledged"), len(alerts))


def _on_time(alerts: Table) -> Figure:
    return proportion(alerts.total("on_time"), len(alerts))


def _acknowledgement(alerts: Table) -> Figure:
    return minutes(alerts["minutes"], "median")


INDICATORS = (
    Indicator(
        id="critical-notification-rate",
        title="危急值通报率",
        title_en="Critical values notified",
        scoring="proportion",
        unit="1",
        definition="分子：已通报并经临床确认（复述）的危急值数；分母：同期发出的危急值数。"
        + _STRATA[0],
        definition_en="Numerator: critical values notified and acknowledged with read-back; "
        "denominator: critical values raised in the period. " + _STRATA[1],
        stratifiers=("organization",),
        improvement="increase",
        evaluate=_evaluated(_notified),
    ),
    Indicator(
        id="critical-notification-timeliness",
        title="危急值通报及时率",
        title_en="Critical values notified in time",
        scoring="proportion",
        unit="1",
        definition="分子：首个时限内由首先通知的机构确认（未升级）的危急值数；分母：同期发出的危急值数。"
        + _STRATA[0],
        definition_en="Numerator: critical values acknowledged by the organization told first "
        "before the first deadline (not escalated); denominator: critical values raised in the "
        "period. " + _STRATA[1],
        stratifiers=("organization",),
        improvement="increase",
        evaluate=_evaluated(_on_time),
    ),
    Indicator(
        id="critical-acknowledgement-median",
        title="危急值确认时间（中位数）",
        title_en="Critical-value acknowledgement time (median)",
        scoring="continuous-variable",
        unit="min",
        definition="已确认的危急值自发出至确认的分钟数的中位数。" + _STRATA[0],
        definition_en="Median minutes from raising a critical value to its acknowledgement, "
        "of those acknowledged. " + _STRATA[1],
        stratifiers=("organization",),
        improvement="decrease",
        evaluate=_evaluated(_acknowledgement),
    ),
)
