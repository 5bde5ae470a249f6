"""The worker runs ``InBatch`` handlers in one transaction with their events' completion,
on SQLite and PostgreSQL: a failing handler is rolled back alone, and a batch whose commit
fails keeps neither its effects nor its completions."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from storage import transaction
from storage.errors import DatabaseUnavailable
from storage.models import OutboxEvent
from storage.outbox import claim, enqueue
from storage.worker import InBatch, PermanentFailure, process_batch

LEASE_SECONDS = 60


def _platform(sessions: sessionmaker[Session]) -> Any:
    return SimpleNamespace(
        sessions=sessions, settings=SimpleNamespace(worker_lease_seconds=LEASE_SECONDS)
    )


def _follow_up(_platform: Any, session: Session, payload: dict[str, Any]) -> None:
    """Writes a follow-up event, then does what the payload says."""
    enqueue(session, "effect", {"of": payload["n"]})
    if payload.get("then") == "error":
        raise ValueError("peer said no")
    if payload.get("then") == "permanent":
        raise PermanentFailure("cannot ever work")


def _events(sessions: sessionmaker[Session]) -> dict[str, list[tuple[Any, ...]]]:
    with sessions() as session:
        rows = session.execute(
            select(OutboxEvent.topic, OutboxEvent.payload, OutboxEvent.state, OutboxEvent.attempts)
            .order_by(OutboxEvent.id)
        ).all()  # fmt: skip
    out: dict[str, list[tuple[Any, ...]]] = {}
    for topic, payload, state, attempts in rows:
        out.setdefault(topic, []).append((payload, state, attempts))
    return out


def test_a_failing_handler_is_rolled_back_alone_and_the_others_commit_done(sessions):
    plain_calls: list[dict[str, Any]] = []
    handlers = {
        "together": InBatch(_follow_up),
        "plain": lambda _platform, payload: plain_calls.append(payload),
    }
    with transaction(sessions) as session:
        for n, then in enumerate(["ok", "error", "ok", "permanent"]):
            enqueue(session, "together", {"n": n, "then": then})
        enqueue(session, "plain", {"n": 9})
    assert process_batch(_platform(sessions), handlers) == 5

    events = _events(sessions)
    # The effects of the events that succeeded, and none of those that failed.
    assert sorted(p["of"] for p, _, _ in events["effect"]) == [0, 2]
    assert [(p["n"], state, attempts) for p, state, attempts in events["together"]] == [
        (0, "done", 1), (1, "pending", 1), (2, "done", 1), (3, "dead", 1),
    ]  # fmt: skip
    assert events["plain"] == [({"n": 9}, "done", 1)]
    assert plain_calls == [{"n": 9}]
    with sessions() as session:
        rows = session.execute(
            select(OutboxEvent.payload, OutboxEvent.last_error)
            .where(OutboxEvent.topic == "together")
        ).all()  # fmt: skip
    assert {payload["n"]: error for payload, error in rows} == {
        0: None, 1: "ValueError: peer said no", 2: None, 3: "cannot ever work",
    }  # fmt: skip


def test_a_batch_whose_commit_fails_keeps_neither_effects_nor_completions(sessions):
    """As if the worker died at its commit: the events are claimed again when the lease ends
    and run once then, their effects written once."""

    def fail_at_commit(session: Session) -> None:
        raise DatabaseUnavailable("disk gone at the commit")

    def breaking(platform: Any, session: Session, payload: dict[str, Any]) -> None:
        _follow_up(platform, session, payload)
        if payload["n"] == 0:
            event.listen(session, "before_commit", fail_at_commit)

    with transaction(sessions) as session:
        for n in range(3):
            enqueue(session, "together", {"n": n})
    with pytest.raises(DatabaseUnavailable):
        process_batch(_platform(sessions), {"together": InBatch(breaking)})
    events = _events(sessions)
    assert "effect" not in events
    assert {state for _, state, _ in events["together"]} == {"running"}

    # The lease runs out; another worker takes them, and this time the commit works.
    with transaction(sessions) as session:
        for row in session.scalars(select(OutboxEvent)):
            row.locked_until -= timedelta(seconds=2 * LEASE_SECONDS)
    assert process_batch(_platform(sessions), {"together": InBatch(_follow_up)}) == 3
    events = _events(sessions)
    assert sorted(p["of"] for p, _, _ in events["effect"]) == [0, 1, 2]
    assert [(state, attempts) for _, state, attempts in events["together"]] == [("done", 2)] * 3


def test_plain_events_not_started_by_half_the_lease_are_given_back(sessions):
    """A slow peer (each call takes longer than half the lease) holds up one event, not the
    batch: the others go back to the queue, their attempt not counted, due at once."""
    calls: list[int] = []

    def slow(_platform: Any, payload: dict[str, Any]) -> None:
        calls.append(payload["n"])
        time.sleep(0.3)

    with transaction(sessions) as session:
        for n in range(4):
            enqueue(session, "slow", {"n": n})
    platform = SimpleNamespace(
        sessions=sessions, settings=SimpleNamespace(worker_lease_seconds=0.5)
    )
    assert process_batch(platform, {"slow": slow}) == 4
    assert calls == [0]
    events = _events(sessions)["slow"]
    assert [(p["n"], state, attempts) for p, state, attempts in events] == [
        (0, "done", 1), (1, "pending", 0), (2, "pending", 0), (3, "pending", 0),
    ]  # fmt: skip
    assert [e.payload["n"] for e in claim(sessions)] == [1, 2, 3]


def test_a_batch_that_reads_then_writes_while_others_commit_is_not_refused(sessions):
    """The handlers read before they write, and the HL7 writer or the HTTP API commit in
    between: on SQLite a read snapshot then cannot become a write (SQLITE_BUSY_SNAPSHOT,
    refused at once), so the batch takes the write lock first and the other writer waits."""
    others: list[BaseException] = []

    def other_writer() -> None:
        try:
            with transaction(sessions) as session:
                enqueue(session, "other", {})
        except BaseException as exc:
            others.append(exc)

    def reads_then_writes(platform: Any, session: Session, payload: dict[str, Any]) -> None:
        session.scalar(select(OutboxEvent.id).limit(1))  # the snapshot this batch reads on
        writer = threading.Thread(target=other_writer)
        writer.start()
        writer.join(timeout=0.5)  # committed by now, unless it waits for this batch
        _follow_up(platform, session, payload)

    with transaction(sessions) as session:
        enqueue(session, "together", {"n": 0})
    assert process_batch(_platform(sessions), {"together": InBatch(reads_then_writes)}) == 1
    deadline = time.monotonic() + 10
    while "other" not in _events(sessions) and time.monotonic() < deadline:
        time.sleep(0.05)
    events = _events(sessions)
    assert events["together"] == [({"n": 0}, "done", 1)]
    assert [p for p, _, _ in events["effect"]] == [{"of": 0}]
    assert len(events["other"]) == 1
    assert others == []
