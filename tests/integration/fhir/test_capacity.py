"""Slots published from the alliance file: the imaging centre's booking rule (CT1 号机, weekday
mornings, 30-minute slots, half for members) becomes a Schedule and its Slots, which a clinic
finds and books; publishing again adds nothing and leaves the booked slot busy."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import yaml
from sqlalchemy import select

from gateway.workflow.capacity import ROLL_TOPIC, publish_capacity
from storage import import_alliance_file
from storage.db import transaction
from storage.models import OutboxEvent
from tests.conftest import DEMO_ALLIANCE
from tests.integration.dicomweb.conftest import Gateway
from tests.integration.fhir.booking import CLINIC, POOL, appointment, order
from tests.integration.fhir.test_rest import call
from tests.servers import drain_outbox

RULE = {"modality": "CT", "name": "CT1 号机", "weekdays": [1, 2, 3, 4, 5],
        "hours": ["08:00-12:00"], "slot_minutes": 30, "members_share": 0.5,
        "days_ahead": 14}  # fmt: skip


def with_rule(tmp_path: Path) -> Path:
    alliance = yaml.safe_load(DEMO_ALLIANCE.read_text())
    [imaging] = [c for c in alliance["centres"] if c["id"] == "jhzx-imaging"]
    imaging["booking"] = [RULE]
    path = tmp_path / "alliance.yaml"
    path.write_text(yaml.safe_dump(alliance, allow_unicode=True))
    return path


def test_the_alliance_files_rule_publishes_bookable_slots(gateway: Gateway, tmp_path: Path):
    import_alliance_file(gateway.node.platform.sessions, with_rule(tmp_path))
    drain_outbox(gateway.node.platform)  # registry.changed: the directory, then the slots
    monday = date.today() + timedelta(days=7 - date.today().weekday())
    day, next_day = monday.isoformat(), (monday + timedelta(days=1)).isoformat()
    schedule = call(gateway, "GET", "/Schedule/jhzx-imaging-ct-1", CLINIC).json()
    assert schedule["actor"][0]["reference"] == "HealthcareService/jhzx-imaging"
    assert schedule["serviceType"][0]["coding"][0]["code"] == "CT"
    search = (f"/Slot?schedule=Schedule/jhzx-imaging-ct-1&status=free"
              f"&start=ge{day}&start=lt{next_day}")  # fmt: skip
    found = call(gateway, "GET", search, CLINIC).json()
    starts = sorted(e["resource"]["start"] for e in found["entry"])
    assert starts[0] == f"{day}T08:00:00+08:00"
    assert len(starts) == 8  # 08:00 … 11:30
    members = call(gateway, "GET", f"{search}&service-category={POOL}|members", CLINIC).json()
    [slot, *_] = [e["resource"] for e in members["entry"]]
    assert len(members["entry"]) == 4

    booked = call(gateway, "POST", "/Appointment", body=appointment(slot, order(gateway)))

    assert booked.status_code == 201, booked.text
    assert publish_capacity(gateway.node.platform) == 0  # nothing missing, nothing touched
    again = call(gateway, "GET", f"/Slot/{slot['id']}", CLINIC).json()
    assert again["status"] == "busy"
    # Tonight's run moves the window on; one run waits, however often it was published.
    with transaction(gateway.node.platform.sessions) as session:
        waiting = session.scalars(
            select(OutboxEvent).where(
                OutboxEvent.topic == ROLL_TOPIC, OutboxEvent.state == "pending"
            )
        ).all()
    [tonight] = waiting
    assert timedelta(0) < tonight.available_at - datetime.now(UTC) <= timedelta(days=1)
    later = date.today() + timedelta(days=20)
    assert publish_capacity(gateway.node.platform, today=later) > 0


def test_publishing_at_the_same_moment_as_the_worker_publishes_once(
    gateway: Gateway, tmp_path: Path
):
    """At start the gateway publishes while the worker, told the registry changed, does too:
    whichever loses the race logs it and steps aside — the gateway still starts."""
    rule = RULE | {"modality": "MR", "name": "MR1 号机", "days_ahead": 7}
    alliance = yaml.safe_load(with_rule(tmp_path).read_text())
    [imaging] = [c for c in alliance["centres"] if c["id"] == "jhzx-imaging"]
    imaging["booking"] = [RULE, rule]
    path = tmp_path / "two-rules.yaml"
    path.write_text(yaml.safe_dump(alliance, allow_unicode=True))
    import_alliance_file(gateway.node.platform.sessions, path)
    with ThreadPoolExecutor(4) as pool:
        added = list(pool.map(lambda _: publish_capacity(gateway.node.platform), range(4)))

    assert all(n >= 0 for n in added)
    found = call(gateway, "GET", "/Slot?schedule=Schedule/jhzx-imaging-mr-2&_summary=count", CLINIC)
    assert (
        found.json()["total"]
        == sum(1 for day in range(7) if (date.today() + timedelta(days=day)).isoweekday() <= 5) * 8
    )
    assert publish_capacity(gateway.node.platform) == 0
