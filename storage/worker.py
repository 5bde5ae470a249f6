"""The background worker: claims outbox events and runs their handlers; sweeps leftovers.

Handlers are registered by the services under the ``yilian.outbox_handlers`` entry-point group
(topic name -> ``handler(platform, payload)``), so the worker never imports a service.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from prometheus_client import Counter

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


class PermanentFailure(Exception):
    """A handler's way of saying "retrying cannot help": the event goes to dead-letter."""


def process_batch(platform: Platform, handlers: dict[str, Handler], limit: int = 10) -> int:
    """Claim and run up to ``limit`` events; return how many were claimed."""
    lease = timedelta(seconds=platform.settings.worker_lease_seconds)
    events = outbox.claim(platform.sessions, limit=limit, lease=lease)
    for event in events:
        handler = handlers.get(event.topic)
        try:
            if handler is None:
                raise PermanentFailure(f"no handler for topic {event.topic!r}")
            handler(platform, event.payload)
        except PermanentFailure as exc:
            outbox.fail(platform.sessions, event.id, str(exc), permanent=True)
            EVENTS.labels(event.topic, "dead").inc()
            log.error("outbox event dead", extra={"event_id": event.id, "topic": event.topic})
        except Exception as exc:
            state = outbox.fail(platform.sessions, event.id, f"{type(exc).__name__}: {exc}")
            EVENTS.labels(event.topic, state.value).inc()
            log.warning(
                "outbox event failed",
                extra={"event_id": event.id, "topic": event.topic, "next_state": state.value},
            )
        else:
            outbox.complete(platform.sessions, event.id)
            EVENTS.labels(event.topic, "done").inc()
    return len(events)


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
    orphans = sweep_orphans(platform.sessions, platform.blobs, prefix="dicom/")
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
    process, or by another on PostgreSQL: ``storage.wake``)."""
    deadline = time.monotonic() + poll
    while not stop.is_set() and time.monotonic() < deadline:
        if outbox.work_committed.is_set():
            outbox.work_committed.clear()
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=min(WAKE_CHECK, poll))


async def run(platform: Platform, stop: asyncio.Event) -> None:
    """Service entry point: poll until ``stop`` is set; the batch in hand always finishes."""
    handlers: dict[str, Handler] = plugins("yilian.outbox_handlers")
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
    handlers: dict[str, Handler],
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
