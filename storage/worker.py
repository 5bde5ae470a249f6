"""The background worker: claims outbox events and runs their handlers; sweeps leftovers.

Handlers are registered by the services under the ``yilian.outbox_handlers`` entry-point group
(topic name -> ``handler(platform, payload)``), so the worker never imports a service.

A handler whose work is only database writes can be :class:`InBatch`: the worker then runs it
in one transaction with the other such events of the batch it claimed, each in a savepoint, and
marks them done in that same transaction: one commit per ~20 ms of such work instead of two
per event (the handler's and the completion's), and there is no moment where an event's effects are
committed but the event is not done: a worker killed at any point leaves either both or
neither, so its successor never repeats them.  Handlers that talk to the outside (an HTTP
POST, a DICOM association) stay plain: what they did cannot be rolled back with a savepoint.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from prometheus_client import Counter
from sqlalchemy.orm import Session

from storage import outbox, wake
from storage.blobs import FileBlobStore, sweep_orphans
from storage.db import refresh_statistics, transaction
from storage.dicom import emit_stable_studies
from storage.errors import StorageError
from storage.fhir import subscription_pings
from storage.platform import Platform, plugins

log = logging.getLogger("yilian.worker")
Handler = Callable[[Platform, dict[str, Any]], None]

EVENTS = Counter("yilian_outbox_events_total", "Outbox events handled", ["topic", "outcome"])
MAINTENANCE_EVERY = 600.0
PERIODIC_EVERY = 5.0
WAKE_CHECK = 0.02  # seconds between looks at outbox.work_committed while idle
BATCH = 50  # events claimed at once (the InBatch ones of them commit together)
HOLD_SECONDS = 0.02  # of InBatch work in one transaction (others wait for its write lock)


class PermanentFailure(Exception):
    """A handler's way of saying "retrying cannot help": the event goes to dead-letter."""


@dataclass(frozen=True, slots=True)
class InBatch:
    """A handler that writes in the worker's transaction (``run(platform, session, payload)``)
    and never commits it: its writes commit with its event's completion, or not at all.
    ``wanted(session, payload)``: whether the event has anything to do, found by reading only
    (most change events: nobody subscribes to the type); one that has not is completed without
    a savepoint or a run."""

    run: Callable[[Platform, Session, dict[str, Any]], None]
    wanted: Callable[[Session, dict[str, Any]], bool] | None = None


def process_batch(
    platform: Platform, handlers: dict[str, Handler | InBatch], limit: int = BATCH
) -> int:
    """Claim and run up to ``limit`` events; return how many were claimed.  Plain handlers
    run one after another: once half the lease has gone by, the events not yet started are
    given back (a slow peer must not keep them until another worker takes them over while
    this one still means to run them)."""
    lease = timedelta(seconds=platform.settings.worker_lease_seconds)
    claimed_at = time.monotonic()
    events = outbox.claim(platform.sessions, limit=limit, lease=lease)
    together = [e for e in events if isinstance(handlers.get(e.topic), InBatch)]
    failed = _run_together(platform, handlers, together) if together else []
    plain = [e for e in events if not isinstance(handlers.get(e.topic), InBatch)]
    for index, event in enumerate(plain):
        if time.monotonic() - claimed_at > lease.total_seconds() / 2:
            outbox.release(platform.sessions, [e.id for e in plain[index:]])
            break
        handler = handlers.get(event.topic)
        try:
            if handler is None:
                raise PermanentFailure(f"no handler for topic {event.topic!r}")
            assert not isinstance(handler, InBatch)
            handler(platform, event.payload)
        except Exception as exc:
            failed.append((event, exc))
        else:
            outbox.complete(platform.sessions, event.id)
            EVENTS.labels(event.topic, "done").inc()
    for event, exc in failed:
        _record_failure(platform, event, exc)
    return len(events)


def _run_together(
    platform: Platform, handlers: dict[str, Handler | InBatch], events: list[outbox.ClaimedEvent]
) -> list[tuple[outbox.ClaimedEvent, Exception]]:
    """Run ``InBatch`` events in transactions of up to ``HOLD_SECONDS`` of work, each event in
    a savepoint (a failing one is rolled back alone), and complete the others in them; return
    the failures.  The transactions hold SQLite's write lock from their start (the handlers
    read before they write, while other writers commit on), so they are kept short: the HL7
    and DICOM writers wait for them.  If a commit fails, nothing of its events is kept and
    they come back when their lease runs out."""
    failed: list[tuple[outbox.ClaimedEvent, Exception]] = []
    waiting = list(events)
    while waiting:
        done: list[outbox.ClaimedEvent] = []
        with transaction(platform.sessions, immediate=True) as session:
            began = time.monotonic()
            while waiting and time.monotonic() - began < HOLD_SECONDS:
                event = waiting.pop(0)
                handler = handlers[event.topic]
                assert isinstance(handler, InBatch)
                try:
                    if handler.wanted is None or handler.wanted(session, event.payload):
                        with session.begin_nested():
                            handler.run(platform, session, event.payload)
                except Exception as exc:
                    failed.append((event, exc))
                else:
                    done.append(event)
            outbox.complete_in(session, [e.id for e in done])
        for event in done:
            EVENTS.labels(event.topic, "done").inc()
    return failed


def _record_failure(platform: Platform, event: outbox.ClaimedEvent, exc: Exception) -> None:
    if isinstance(exc, PermanentFailure):
        outbox.fail(platform.sessions, event.id, str(exc), permanent=True)
        EVENTS.labels(event.topic, "dead").inc()
        log.error("outbox event dead", extra={"event_id": event.id, "topic": event.topic})
        return
    state = outbox.fail(platform.sessions, event.id, f"{type(exc).__name__}: {exc}")
    EVENTS.labels(event.topic, state.value).inc()
    log.warning(
        "outbox event failed",
        extra={"event_id": event.id, "topic": event.topic, "next_state": state.value},
    )


# The prefixes whose every object has a ``stored_objects`` row once its write committed.
_RECORDED = ("dicom/", "hl7/")


def maintenance(platform: Platform) -> None:
    """Remove what interrupted writes left (partial uploads, objects no row records); keep
    the query planner's statistics fresh."""
    if isinstance(platform.blobs, FileBlobStore):
        removed = platform.blobs.sweep_incoming()
        if removed:
            log.info("removed interrupted uploads", extra={"count": removed})
    refresh_statistics(platform.engine)
    with transaction(platform.sessions) as session:
        subscription_pings.forget_older_than(session, timedelta(days=1))
    orphans = sum(sweep_orphans(platform.sessions, platform.blobs, prefix=p) for p in _RECORDED)
    if orphans:
        log.info("removed objects without an index row", extra={"count": orphans})


def periodic(platform: Platform) -> None:
    """Frequent, cheap checks: studies that became stable."""
    quiet = timedelta(seconds=platform.settings.study_stable_seconds)
    stable = emit_stable_studies(platform.sessions, quiet)
    if stable:
        log.info("studies stable", extra={"count": stable})


async def _idle(stop: asyncio.Event, poll: float) -> None:
    """Until ``poll`` seconds pass, ``stop`` is set, or new events are committed (by this
    process, or by another: ``storage.wake``)."""
    deadline = time.monotonic() + poll
    while not stop.is_set() and time.monotonic() < deadline:
        if outbox.work_committed.is_set():
            outbox.work_committed.clear()
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=min(WAKE_CHECK, poll))


async def run(platform: Platform, stop: asyncio.Event) -> None:
    """Service entry point: poll until ``stop`` is set; the batch in hand always finishes."""
    handlers: dict[str, Handler | InBatch] = plugins("yilian.outbox_handlers")
    poll = platform.settings.worker_poll_seconds
    periodic_every = min(PERIODIC_EVERY, platform.settings.study_stable_seconds / 4)
    platform.readiness.up("worker")
    log.info("worker started", extra={"topics": ",".join(sorted(handlers))})
    listening = threading.Event()  # cleared: the listener keeps going; set: it stops
    wake.listen(platform.settings.effective_database_url, listening)
    try:
        await _work(platform, handlers, stop, poll, periodic_every)
    finally:
        listening.set()
    log.info("worker stopped")


async def _work(
    platform: Platform,
    handlers: dict[str, Handler | InBatch],
    stop: asyncio.Event,
    poll: float,
    periodic_every: float,
) -> None:
    last_maintenance = last_periodic = float("-inf")  # both run at once on start
    while not stop.is_set():
        try:
            if time.monotonic() - last_maintenance > MAINTENANCE_EVERY:
                await asyncio.to_thread(maintenance, platform)
                last_maintenance = time.monotonic()
            if time.monotonic() - last_periodic > periodic_every:
                await asyncio.to_thread(periodic, platform)
                last_periodic = time.monotonic()
            claimed = await asyncio.to_thread(process_batch, platform, handlers)
        except StorageError as exc:
            log.warning("worker cannot reach storage", extra={"error": str(exc)})
            claimed = 0
        if not claimed:  # wakes for the periodic checks too, however long the poll
            await _idle(stop, min(poll, periodic_every))
