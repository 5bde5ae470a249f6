"""One received message from its bytes to its answer, for the MLLP listener (``service.py``).

1. Prepared (``prepare.py``: parsed, its sender found, mapped, every resource validated) and
   its raw bytes written to the object store (durable before the call returns) in a worker
   process — ``hl7_prepare_processes`` of them, beside the process that writes, so the
   CPU-bound part of many connections and the object's fsyncs run on all cores (0: in a
   thread of this process) — or, when no other message is being prepared, in a thread of
   this process.
2. Archived and applied with the other messages of its commit group (``group_commit.py``); the
   answer is built only after the commit holding it: AA means stored.
A fault of Yilian's own anywhere on the way is AE with ERR-3 207 ("send again later") and
leaves no row; an object whose row was not committed is removed (or swept as an orphan).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lab_bridge.ack import AckCode, Header, Outcome, answered, build_ack, header_of
from lab_bridge.decode import best_header
from lab_bridge.group_commit import GroupCommit
from lab_bridge.prepare import Prepared, prepare
from storage import StorageError
from storage.blobs import BlobInfo
from storage.platform import Platform, open_platform
from storage.processes import worker_pool
from storage.settings import Settings

log = logging.getLogger("yilian.mllp")

_platform: Platform | None = None  # a worker process's own


def _start_worker(settings: dict[str, Any]) -> None:
    global _platform
    _platform = open_platform(Settings(**settings), run_migrations=False)


@dataclass(frozen=True, slots=True)
class Kept:
    """A prepared message and its raw bytes in the object store (None: the store refused)."""

    prepared: Prepared
    stored: BlobInfo | None


def kept(platform: Platform, raw: bytes) -> Kept | Outcome:
    """The message prepared and, unless it is answered already, its bytes made durable."""
    prepared = prepare(platform, raw)
    if isinstance(prepared, Outcome):
        return prepared
    now = datetime.now(UTC)
    key = f"hl7/{now:%Y/%m/%d}/{prepared.peer.id}/{now:%H%M%S}-{uuid.uuid4().hex}.hl7"
    try:
        return Kept(prepared, platform.blobs.put(key, [raw]))
    except StorageError:
        return Kept(prepared, None)


def _kept_in_worker(raw: bytes) -> Kept | Outcome:
    assert _platform is not None, "worker started without its platform"
    return kept(_platform, raw)


def _ready() -> bool:
    return _platform is not None


class Intake:
    """Blocks while its worker processes start: create it in a thread."""

    def __init__(self, platform: Platform, processes: int) -> None:
        self.platform = platform
        self._processes = processes
        self._executor = self._start() if processes else None
        self._commits = GroupCommit(platform)
        self._preparing = 0
        self._committing = 0  # prepared, not yet answered: the writer's thread has work

    def _start(self) -> ProcessPoolExecutor:
        settings = self.platform.settings.model_dump()
        executor = worker_pool(self._processes, _start_worker, (settings,))
        for started in [executor.submit(_ready) for _ in range(self._processes)]:
            started.result()  # every worker up now, not on the first message
        return executor

    async def answer(self, raw: bytes) -> Outcome:
        """The message handled, and AE with ERR-3 207 if anything unforeseen goes wrong (the
        sender keeps the message and sends it again; nothing half-written stays)."""
        try:
            return await self._answer(raw)
        except Exception:
            log.exception("HL7 message not handled: internal error")
            header = best_header(raw)
            return answered(
                header_of(header) if header else Header(), "utf-8", AckCode.ERROR,
                "internal error, send again later", internal=True,
            )  # fmt: skip

    async def _answer(self, raw: bytes) -> Outcome:
        received = await self._prepare(raw)
        if isinstance(received, Outcome):
            return received
        self._committing += 1  # one event loop: no lock needed
        try:
            return await self._store(received)
        finally:
            self._committing -= 1

    async def _store(self, received: Kept) -> Outcome:
        prepared, stored = received.prepared, received.stored
        if stored is None:  # the object store refused the message
            return _unavailable(prepared)
        try:
            row_id, processed = await asyncio.wrap_future(self._commits.submit(prepared, stored))
        except Exception as exc:
            await asyncio.to_thread(self._remove, stored.key)
            if not isinstance(exc, StorageError):
                raise
            return _unavailable(prepared)
        log.info("HL7 message stored", extra={
            "peer": prepared.peer.id, "type": prepared.header.message_type,
            "ack": processed.code.value,
        })  # fmt: skip
        ack = build_ack(prepared.header, processed.code, processed.text, processed.error)
        return Outcome(processed.code, ack.encode(prepared.encoding, "replace"), stored.key, row_id)

    async def _prepare(self, raw: bytes) -> Kept | Outcome:
        """:func:`kept`: alone, in a thread of this process (a hop to a worker costs a single
        connection more than it saves); while other messages are being prepared or committed,
        in a worker process (this one's interpreter is the writer's then)."""
        executor = self._executor
        alone = self._preparing == 0 and self._committing == 0
        self._preparing += 1  # one event loop: no lock needed
        try:
            if executor is None or alone:
                return await asyncio.to_thread(kept, self.platform, raw)
            return await asyncio.wrap_future(executor.submit(_kept_in_worker, raw))
        except BrokenProcessPool:
            if self._executor is executor:  # the first to notice (one event loop) restarts it
                log.error("an HL7 worker died; restarting the pool")
                self._executor = None
                self._executor = await asyncio.to_thread(self._start)
            raise
        finally:
            self._preparing -= 1

    def _remove(self, key: str) -> None:
        with contextlib.suppress(StorageError):  # else an orphan: the periodic sweep removes it
            self.platform.blobs.delete(key)

    def close(self, timeout: float) -> None:
        """Commit what was handed over, then stop the workers."""
        self._commits.close(timeout)
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)


def _unavailable(prepared: Prepared) -> Outcome:
    """AE "send again later": the message could not be stored (nothing of it is kept)."""
    log.error("HL7 message not stored: storage unavailable", extra={"peer": prepared.peer.id})
    return answered(
        prepared.header, prepared.encoding, AckCode.ERROR,
        "storage unavailable, send again later", internal=True,
    )  # fmt: skip
