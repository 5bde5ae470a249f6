"""Indicators of two-way referral (双向转诊): how many each way, the share going down, how many
upward referrals came with a booking, how fast the receiver accepts, and whether the green
channel kept its time.  A referral the referrer revoked before it was accepted is not counted.
Strata: the member at the primary-care end (the referrer of an upward referral, the receiver of
a downward one), or for acceptance the receiving organization."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy.orm import Session

from gateway.indicators.model import (
    Figure,
    Indicator,
    Result,
    Scope,
    count,
    minutes,
    per,
    proportion,
)
from storage.clinical.intervals import minutes_between
from storage.clinical.referral_steps import on_time, referrals_in

Step = Any  # a row of ReferralSteps' columns (referrals_in)
Rows = list[Step]


def _counted(session: Session, scope: Scope) -> Rows:
    rows = scope.shared("referrals", lambda: referrals_in(
        session, scope.orgs, scope.start, scope.end))  # fmt: skip
    return [r for r in rows if r.cancelled_at is None]


def _member(row: Step) -> str:
    return f"Organization/{row.referrer_org_id if row.direction == 'up' else row.receiver_org_id}"


def _up(rows: Iterable[Step]) -> Rows:
    return [r for r in rows if r.direction == "up"]


def two_way(session: Session, scope: Scope) -> Result:
    return per(_counted(session, scope), count, _member)


def upward(session: Session, scope: Scope) -> Result:
    return per(_up(_counted(session, scope)), count, _member)


def downward(session: Session, scope: Scope) -> Result:
    rows = [r for r in _counted(session, scope) if r.direction == "down"]
    return per(rows, count, _member)


def downward_share(session: Session, scope: Scope) -> Result:
    def figure(rows: Sequence[Step]) -> Figure:
        return proportion(len(rows) - len(_up(rows)), len(rows))

    return per(_counted(session, scope), figure, _member)


def down_to_up(session: Session, scope: Scope) -> Result:
    def figure(rows: Sequence[Step]) -> Figure:
        up = len(_up(rows))
        return proportion(len(rows) - up, up)

    return per(_counted(session, scope), figure, _member)


def booked(session: Session, scope: Scope) -> Result:
    def figure(rows: Sequence[Step]) -> Figure:
        return proportion(sum(r.booked for r in rows), len(rows))

    return per(_up(_counted(session, scope)), figure, _member)


def green_channel(session: Session, scope: Scope) -> Result:
    urgent = [r for r in _up(_counted(session, scope)) if r.accept_due_at is not None]
    return per(urgent, lambda rows: proportion(sum(map(on_time, rows)), len(rows)), _receiver)


def _receiver(row: Step) -> str:
    return f"Organization/{row.receiver_org_id}"


def _acceptance(pick: str) -> Callable[[Session, Scope], Result]:
    def figure(rows: Sequence[Step]) -> Figure:
        return minutes((minutes_between(r.referred_at, r.accepted_at) for r in rows), pick)

    def evaluate(session: Session, scope: Scope) -> Result:
        return per(_counted(session, scope), figure, _receiver)

    return evaluate


# How each family of strata is described, in both languages.
_STRATA = {
    "member": (
        "按基层端成员单位分层（上转的转出机构、下转的接收机构）；已撤销的转诊不计。",
        "Stratified by the member at the primary-care end (the referrer of an upward referral, "
        "the receiver of a downward one); revoked referrals are not counted.",
    ),
    "receiver": (
        "按接收机构分层；已撤销的转诊不计。",
        "Stratified by the receiving organization; revoked referrals are not counted.",
    ),
}

INDICATORS = (
    Indicator(
        id="referrals-two-way",
        title="双向转诊人次",
        title_en="Two-way referrals",
        scoring="cohort",
        unit="1",
        definition="统计期内发起的上转与下转人次之和。" + _STRATA["member"][0],
        definition_en="Upward and downward referrals made in the period. " + _STRATA["member"][1],
        stratifiers=("organization",),
        improvement="increase",
        evaluate=two_way,
    ),
    Indicator(
        id="referrals-up",
        title="上转人次",
        title_en="Upward referrals",
        scoring="cohort",
        unit="1",
        definition="统计期内基层向上级医院转诊的人次。" + _STRATA["member"][0],
        definition_en="Referrals up to a higher level of care made in the period. "
        + _STRATA["member"][1],
        stratifiers=("organization",),
        improvement="increase",
        evaluate=upward,
    ),
    Indicator(
        id="referrals-down",
        title="下转人次",
        title_en="Downward referrals",
        scoring="cohort",
        unit="1",
        definition="统计期内上级医院向基层转诊的人次。" + _STRATA["member"][0],
        definition_en="Referrals down to primary care made in the period. " + _STRATA["member"][1],
        stratifiers=("organization",),
        improvement="increase",
        evaluate=downward,
    ),
    Indicator(
        id="referrals-down-rate",
        title="下转率",
        title_en="Downward share",
        scoring="proportion",
        unit="1",
        definition="分子：下转人次；分母：双向转诊人次（上转＋下转）。" + _STRATA["member"][0],
        definition_en="Numerator: downward referrals; denominator: all referrals (up and down). "
        + _STRATA["member"][1],
        stratifiers=("organization",),
        improvement="increase",
        evaluate=downward_share,
    ),
    Indicator(
        id="referrals-down-to-up",
        title="双向转诊比例（下转:上转）",
        title_en="Two-way referral ratio (down:up)",
        scoring="ratio",
        unit="1",
        definition="分子：下转人次；分母：上转人次。" + _STRATA["member"][0],
        definition_en="Numerator: downward referrals; denominator: upward referrals. "
        + _STRATA["member"][1],
        stratifiers=("organization",),
        improvement="increase",
        evaluate=down_to_up,
    ),
    Indicator(
        id="referrals-booked-rate",
        title="预约转诊率",
        title_en="Booked referrals",
        scoring="proportion",
        unit="1",
        definition="分子：附已预约号源（Appointment）的上转人次；分母：上转人次。"
        + _STRATA["member"][0],
        definition_en=(
            "Numerator: upward referrals sent with a booked Appointment; denominator: upward "
            "referrals. "
        )
        + _STRATA["member"][1],
        stratifiers=("organization",),
        improvement="increase",
        evaluate=booked,
    ),
    Indicator(
        id="referrals-green-channel-on-time",
        title="绿色通道按时接收率",
        title_en="Green channel accepted in time",
        scoring="proportion",
        unit="1",
        definition="分子：在绿色通道时限内被接收的紧急上转人次；分母：紧急上转人次。"
        + _STRATA["receiver"][0],
        definition_en=(
            "Numerator: urgent upward referrals accepted by their due time; denominator: urgent "
            "upward referrals. "
        )
        + _STRATA["receiver"][1],
        stratifiers=("organization",),
        improvement="increase",
        evaluate=green_channel,
    ),
    Indicator(
        id="referrals-acceptance-median",
        title="转诊接收时间（中位数）",
        title_en="Referral acceptance time (median)",
        scoring="continuous-variable",
        unit="min",
        definition="已接收的转诊自发起至接收的分钟数的中位数。" + _STRATA["receiver"][0],
        definition_en="Median minutes from referral to acceptance, of the referrals accepted. "
        + _STRATA["receiver"][1],
        stratifiers=("organization",),
        improvement="decrease",
        evaluate=_acceptance("median"),
    ),
    Indicator(
        id="referrals-acceptance-p90",
        title="转诊接收时间（P90）",
        title_en="Referral acceptance time (P90)",
        scoring="continuous-variable",
        unit="min",
        definition="已接收的转诊自发起至接收的分钟数的第90百分位数。" + _STRATA["receiver"][0],
        definition_en=(
            "90th percentile of the minutes from referral to acceptance, of the referrals "
            "accepted. "
        )
        + _STRATA["receiver"][1],
        stratifiers=("organization",),
        improvement="decrease",
        evaluate=_acceptance("p90"),
    ),
)
