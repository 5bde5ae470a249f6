"""Lab orders and reading Tasks kept as a copy per day for the indicators, on both databases:
a kept day follows every later write to it (a new order, a report, an order moved to another
day, one deleted), and a scope read from copies gives the figures read from the table —
whichever time zone cuts its days, with part days at its edges."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from gateway.indicators.measures import INDICATORS
from gateway.indicators.model import Result, Scope
from storage import import_alliance_file
from storage.clinical.intervals import interval_figures
from storage.clinical.reading_milestones import stamp
from storage.db import reading, transaction
from storage.models import DailyColumns, LabTurnaround, ReadingMilestones
from storage.policy import visible_orgs
from tests.conftest import DEMO_ALLIANCE

BEIJING = ZoneInfo("Asia/Shanghai")
COUNTED = [i for i in INDICATORS if i.id.startswith(("lab-", "reading-"))]


@pytest.fixture
def alliance(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    import_alliance_file(sessions, DEMO_ALLIANCE)
    return sessions


def evaluated(sessions: sessionmaker[Session], org: str, start: datetime, end: datetime
              ) -> dict[str, Result]:  # fmt: skip
    """The lab and reading indicators as ``$evaluate-measure`` evaluates them (read-only)."""
    with reading(sessions) as session:
        scope = Scope(visible_orgs(session, org), start, end)
        return {i.id: i.evaluate(session, scope) for i in COUNTED}


def figure(results: dict[str, Result], indicator: str) -> tuple[dict[str, int], float | None]:
    overall = results[indicator].overall
    return overall.populations, overall.score


def copies(sessions: sessionmaker[Session]) -> dict[date, datetime]:
    lab = DailyColumns.register.startswith("lab/")
    with transaction(sessions) as session:
        rows = session.execute(select(DailyColumns.day, DailyColumns.built_at).where(lab)).all()
    return {day: built for day, built in rows}


def lab_order(n: int, ordered: datetime, received: int, reported: int | None) -> LabTurnaround:
    return LabTurnaround(
        order_id=f"day-{n}", requester_org_id="sj-sq", performer_org_id="jhzx",
        specimen=f"sp-{n}", ordered_at=ordered, collected_at=ordered,
        received_at=ordered + timedelta(minutes=received),
        reported_at=None if reported is None else ordered + timedelta(minutes=reported),
    )  # fmt: skip


def test_a_kept_day_follows_every_write_to_it(alliance: sessionmaker[Session]):
    tenth = datetime(2025, 9, 10, 9, tzinfo=BEIJING)
    day, next_day = tenth.replace(hour=0), tenth.replace(hour=0) + timedelta(days=1)
    with transaction(alliance) as session:
        session.add_all([lab_order(1, tenth, 30, 90), lab_order(2, tenth, 40, None)])

    def intra_lab(start: datetime = day) -> tuple[dict[str, int], float | None]:
        found = evaluated(alliance, "sj-sq", start, start + timedelta(days=1))
        return figure(found, "lab-intra-laboratory-median")

    assert intra_lab() == ({"measure-population": 1}, 60.0)
    assert intra_lab(next_day) == ({"measure-population": 0}, None)
    kept = copies(alliance)
    assert set(kept) == {date(2025, 9, 10), date(2025, 9, 11)}
    assert intra_lab() == ({"measure-population": 1}, 60.0)
    assert copies(alliance) == kept  # read from the copies, not rebuilt

    with transaction(alliance) as session:  # the report of the second order arrives
        session.get(LabTurnaround, "day-2").reported_at = tenth + timedelta(minutes=140)
    assert intra_lab() == ({"measure-population": 2}, 80.0)
    with transaction(alliance) as session:  # a third order
        session.add(lab_order(3, tenth + timedelta(hours=2), 10, 20))
    assert intra_lab() == ({"measure-population": 3}, 60.0)
    with transaction(alliance) as session:  # the first was ordered the next day after all
        session.get(LabTurnaround, "day-1").ordered_at = tenth + timedelta(days=1)
    assert intra_lab() == ({"measure-population": 2}, 55.0)
    assert intra_lab(next_day) == ({"measure-population": 1}, 60.0)
    with transaction(alliance) as session:
        session.delete(session.get(LabTurnaround, "day-3"))
    assert intra_lab() == ({"measure-population": 1}, 100.0)
    assert copies(alliance)[date(2025, 9, 10)] > kept[date(2025, 9, 10)]


def test_a_scope_from_copies_gives_the_figures_of_the_table(alliance: sessionmaker[Session]):
    """Five days of orders and Tasks at any hour; a scope that starts and ends inside a day,
    cut into days by Beijing time and by UTC, evaluated twice (the second time from the
    copies), for the lead hospital (every member) and for one clinic."""
    rng = random.Random(20261204)
    first = datetime(2025, 9, 20, tzinfo=BEIJING)
    members = ("sj-sq", "tx-wsy", "cd-sq", "wcrm")
    orders, tasks = [], []
    for n in range(400):
        ordered = first + timedelta(minutes=rng.uniform(0, 5 * 24 * 60))
        order = lab_order(n, ordered, rng.randint(5, 90), rng.choice((None, 120, 200)))
        order.requester_org_id = rng.choice(members)
        images = ordered + timedelta(minutes=rng.randint(5, 60))
        verified = rng.choice((None, images + timedelta(minutes=rng.randint(10, 300))))
        orders.append(order)
        tasks.append(ReadingMilestones(
            task_id=f"task-{n}", order_id=f"order-{n}",
            centre_id=rng.choice(("jhzx-imaging", "jhzx-ecg")),
            requester_org_id=rng.choice(members), modality="CT",
            priority=rng.choice(("routine", "stat")), ordered_at=ordered,
            images_at=images, due_at=images + timedelta(hours=2), verified_at=verified,
        ))  # fmt: skip
    expected = {(o.order_id, o.requester_org_id, o.ordered_at, o.received_at, o.reported_at)
                for o in orders}  # fmt: skip
    volume = {(t.requester_org_id, t.ordered_at) for t in tasks}
    with transaction(alliance) as session:
        session.add_all([*orders, *tasks])

    start, end = first + timedelta(hours=13), first + timedelta(days=4, hours=7)
    for org in ("jhzx", "tx-wsy"):
        with reading(alliance) as session:
            orgs = visible_orgs(session, org)
        reported = [
            (b - a).total_seconds() / 60
            for _, requester, at, a, b in expected
            if b and start <= at < end and (requester in orgs or "jhzx" in orgs)
        ]
        asked = [1 for requester, at in volume
                 if start <= at < end and (requester in orgs or "jhzx" in orgs)]  # fmt: skip
        beijing = evaluated(alliance, org, start, end)
        assert figure(beijing, "lab-intra-laboratory-median") == (
            {"measure-population": len(reported)},
            interval_figures(reported).median_minutes,
        )
        assert figure(beijing, "reading-volume") == ({"initial-population": len(asked)},
                                                     len(asked))  # fmt: skip
        assert evaluated(alliance, org, start, end) == beijing
        in_utc = (start.astimezone(UTC), end.astimezone(UTC))
        assert evaluated(alliance, org, *in_utc) == beijing
        assert evaluated(alliance, org, *in_utc) == beijing
    with transaction(alliance) as session:
        zones = set(session.scalars(select(DailyColumns.zone)))
    assert zones == {"Asia/Shanghai", "UTC"}


def test_a_write_from_a_session_that_loaded_the_row_before_it_moved_still_counts(
    alliance: sessionmaker[Session],
):
    """A report's writer loaded the lab order while it had no order time yet (its specimen
    came first); the order then arrived, and the day was copied; the report's write, to a row
    this session still thinks has no day, makes the day's copy stale all the same."""
    tenth = datetime(2025, 9, 10, 9, tzinfo=BEIJING)
    day = tenth.replace(hour=0)
    with transaction(alliance) as session:
        session.add(lab_order(1, tenth, 30, None))
        session.flush()
        session.get(LabTurnaround, "day-1").ordered_at = None
    report_writer = alliance()
    try:
        row = report_writer.get(LabTurnaround, "day-1")
        assert row is not None
        assert row.ordered_at is None
        with transaction(alliance) as session:  # the order arrives
            session.get(LabTurnaround, "day-1").ordered_at = tenth
        before = evaluated(alliance, "sj-sq", day, day + timedelta(days=1))
        assert figure(before, "lab-intra-laboratory-median") == ({"measure-population": 0}, None)
        row.reported_at = tenth + timedelta(minutes=90)
        report_writer.commit()
    finally:
        report_writer.close()
    after = evaluated(alliance, "sj-sq", day, day + timedelta(days=1))
    assert figure(after, "lab-intra-laboratory-median") == ({"measure-population": 1}, 60.0)


def test_a_reading_task_verified_after_its_day_was_copied_counts(alliance: sessionmaker[Session]):
    tenth = datetime(2025, 9, 10, 9, tzinfo=BEIJING)
    day = tenth.replace(hour=0)
    with transaction(alliance) as session:
        session.add(ReadingMilestones(
            task_id="read-1", order_id="order-1", centre_id="jhzx-imaging",
            requester_org_id="sj-sq", modality="CT", priority="routine", ordered_at=tenth,
            images_at=tenth, due_at=tenth + timedelta(hours=2),
        ))  # fmt: skip
    before = evaluated(alliance, "sj-sq", day, day + timedelta(days=1))
    assert figure(before, "reading-on-time-rate") == ({"numerator": 0, "denominator": 0}, None)
    with transaction(alliance) as session:
        stamp(session, "read-1", "verified", tenth + timedelta(minutes=45), "lihua")
    after = evaluated(alliance, "sj-sq", day, day + timedelta(days=1))
    assert figure(after, "reading-on-time-rate") == ({"numerator": 1, "denominator": 1}, 1.0)
    assert figure(after, "reading-turnaround-median") == ({"measure-population": 1}, 45.0)
