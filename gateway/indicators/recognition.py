"""Indicators of mutual recognition (检查检验结果互认): how often a recognisable prior is
recognised rather than repeated, why the repeats, and what recognition saved.  Counted from
the doctors' decisions about offered priors (``$recognition-decision``, CDS Hooks feedback) made
in the period by the members the requester sees; strata: the ordering member, or the reason."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from gateway.indicators.model import (
    MEASURE_POPULATION,
    Figure,
    Indicator,
    Result,
    Scope,
    cohort,
    per,
    proportion,
)
from storage.clinical.recognition import decisions_in

REASON_STRATUM = "RepeatReason"
Decision = Any  # a row of RecognitionDecision's columns (decisions_in)


def _decisions(session: Session, scope: Scope) -> list[Decision]:
    return scope.shared("recognition", lambda: decisions_in(
        session, scope.orgs, scope.start, scope.end))  # fmt: skip


def _member(row: Decision) -> str:
    return f"Organization/{row.org_id}"


def _rate(rows: Sequence[Decision]) -> Figure:
    return proportion(sum(r.decision == "recognised" for r in rows), len(rows))


def recognition_rate(session: Session, scope: Scope) -> Result:
    return per(_decisions(session, scope), _rate, _member)


def repeats(session: Session, scope: Scope) -> Result:
    rows = [r for r in _decisions(session, scope)
            if r.decision == "repeated"]  # fmt: skip
    reasons = Counter(str(r.reason) for r in rows)
    return Result(
        cohort(len(rows)),
        {f"{REASON_STRATUM}/{reason}": cohort(n) for reason, n in sorted(reasons.items())},
    )


def _saved(rows: Sequence[Decision]) -> Figure:
    recognised = [r for r in rows if r.decision == "recognised"]
    total = sum((r.price for r in recognised), Decimal("0.00"))
    return Figure({MEASURE_POPULATION: len(recognised)}, float(total))


def savings(session: Session, scope: Scope) -> Result:
    return per(_decisions(session, scope), _saved, _member)


INDICATORS = (
    Indicator(
        id="recognition-rate",
        title="检查检验结果互认率",
        title_en="Recognition rate of prior results",
        scoring="proportion",
        unit="1",
        definition="分子：统计期内医生选择『互认』的可互认结果数；分母：统计期内医生作出决定（互认或不互认）的可互认结果数。按开单机构分层。",
        definition_en="Numerator: recognisable prior results the doctor recognised in the "
        "period; denominator: recognisable prior results the doctor decided on (recognised or "
        "repeated) in the period. Stratified by the ordering member.",
        stratifiers=("organization",),
        improvement="increase",
        evaluate=recognition_rate,
    ),
    Indicator(
        id="recognition-repeats",
        title="不互认（重复检查）例数",
        title_en="Repeats of recognisable results",
        scoring="cohort",
        unit="1",
        definition="统计期内医生对可互认结果选择『不互认』而重复检查的例数。按不互认理由分层。",
        definition_en="Recognisable prior results the doctor chose to repeat in the period. "
        "Stratified by the reason given.",
        stratifiers=("reason",),
        improvement="decrease",
        evaluate=repeats,
    ),
    Indicator(
        id="recognition-savings",
        title="互认节省费用",
        title_en="Costs saved by recognition",
        scoring="continuous-variable",
        unit="CNY",
        definition="统计期内医生选择『互认』的结果按互认项目目录价格计的合计金额（元）。按开单机构分层。",
        definition_en="The catalogue prices (CNY) of the prior results recognised in the period, "
        "summed. Stratified by the ordering member.",
        stratifiers=("organization",),
        improvement="increase",
        evaluate=savings,
    ),
)
