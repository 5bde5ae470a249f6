"""The slots a booking rule of the alliance file offers (号源): weekdays, opening hours, slot
length, and the members' share spread over each day."""

from datetime import date
from zoneinfo import ZoneInfo

from gateway.workflow.capacity import openings

BEIJING = ZoneInfo("Asia/Shanghai")
RULE = {"modality": "CT", "name": "CT1 号机", "weekdays": [1, 2, 3, 4, 5],
        "hours": ["08:00-10:00", "14:00-15:00"], "slot_minutes": 20, "members_share": 0.5,
        "days_ahead": 7}  # fmt: skip


def test_a_week_of_weekday_slots_in_opening_hours_half_for_members():
    offered = list(openings(RULE, date(2026, 12, 5), BEIJING))  # a Saturday

    assert {o.start.date() for o in offered} == {date(2026, 12, d) for d in (7, 8, 9, 10, 11)}
    monday = [o for o in offered if o.start.date() == date(2026, 12, 7)]
    assert [o.start.strftime("%H:%M") for o in monday] == [
        "08:00", "08:20", "08:40", "09:00", "09:20", "09:40", "14:00", "14:20", "14:40",
    ]  # fmt: skip
    assert monday[0].start.isoformat() == "2026-12-07T08:00:00+08:00"
    assert monday[-1].end.strftime("%H:%M") == "15:00"  # a slot ends by closing time
    assert [o.members for o in monday] == [False, True] * 4 + [False]
    assert sum(o.members for o in offered) == 4 * 5


def test_no_share_and_a_whole_share():
    none = list(openings(RULE | {"members_share": 0}, date(2026, 12, 7), BEIJING))
    every = list(openings(RULE | {"members_share": 1}, date(2026, 12, 7), BEIJING))
    assert not any(o.members for o in none)
    assert all(o.members for o in every)
    assert len(every) == 9 * 5
