"""Indicators of exam booking (基层预约上级检查): how much of the published capacity is booked,
how much of it by members, and how much of the share reserved for members they use.  Strata:
the device (``Schedule``) or the booking member (``Organization``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from sqlalchemy.orm import Session

from gateway.indicators.model import Figure, Indicator, Result, Scope, proportion
from storage.clinical.slot_figures import SlotRow, slots_in


def _slots(session: Session, scope: Scope) -> list[SlotRow]:
    return scope.shared("booking", lambda: slots_in(session, scope.orgs, scope.start, scope.end))


def _by_schedule(session: Session, scope: Scope, kept: Callable[[SlotRow], bool]) -> Result:
    """Booked ÷ published, of the slots ``kept`` — overall and per device."""
    rows = [row for row in _slots(session, scope) if kept(row)]
    published, booked = Counter[str](), Counter[str]()
    for row in rows:
        published[row.schedule] += 1
        booked[row.schedule] += row.booked_by is not None
    strata = {f"Schedule/{s}": proportion(booked[s], published[s]) for s in sorted(published)}
    return Result(proportion(sum(booked.values()), len(rows)), strata)


def slot_utilisation(session: Session, scope: Scope) -> Result:
    return _by_schedule(session, scope, lambda _row: True)


def reserve_utilisation(session: Session, scope: Scope) -> Result:
    return _by_schedule(session, scope, lambda row: row.members_share)


def members_share(session: Session, scope: Scope) -> Result:
    """Of the booked slots, those a member (not the publishing organization) booked — overall
    and per booking member."""
    held = [r for r in _slots(session, scope) if r.booked_by]
    by_member = Counter(r.booked_by for r in held if r.booked_by != r.publisher)
    strata: dict[str, Figure] = {
        f"Organization/{member}": proportion(count, len(held))
        for member, count in sorted(by_member.items())
        if member is not None
    }
    return Result(proportion(sum(by_member.values()), len(held)), strata)


INDICATORS = (
    Indicator(
        id="slot-utilisation",
        title="检查号源利用率",
        title_en="Exam slot utilisation",
        scoring="proportion",
        unit="1",
        definition="分子：统计期内开始、已被预约（含爽约）的检查号源数；分母：统计期内开始的全部已发布号源数。按设备分层。",
        definition_en="Numerator: slots starting in the period that are booked (no-shows "
        "included); denominator: all published slots starting in the period. Stratified by "
        "device (Schedule).",
        stratifiers=("device",),
        improvement="increase",
        evaluate=slot_utilisation,
    ),
    Indicator(
        id="members-reserve-utilisation",
        title="医联体预留号源利用率",
        title_en="Members' reserved slots used",
        scoring="proportion",
        unit="1",
        definition="分子：统计期内开始、已被预约的医联体预留号源数；分母：统计期内开始的医联体预留号源数。按设备分层。",
        definition_en="Numerator: slots of the members' share starting in the period that are "
        "booked; denominator: slots of the members' share starting in the period. Stratified "
        "by device.",
        stratifiers=("device",),
        improvement="increase",
        evaluate=reserve_utilisation,
    ),
    Indicator(
        id="members-booking-share",
        title="成员单位预约占比",
        title_en="Members' share of bookings",
        scoring="proportion",
        unit="1",
        definition="分子：统计期内开始的已预约号源中由成员单位（非发布号源的机构）预约的数量；分母：统计期内开始的已预约号源数。按预约机构分层。",
        definition_en="Numerator: booked slots starting in the period that a member (not the "
        "publishing organization) booked; denominator: booked slots starting in the period. "
        "Stratified by the booking member.",
        stratifiers=("organization",),
        improvement="increase",
        evaluate=members_share,
    ),
)
