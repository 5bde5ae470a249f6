"""The received messages of every connection, committed in groups by one writer thread.

Each message's raw bytes are durable in the object store before it is handed over
(:meth:`GroupCommit.submit`).  The writer takes every message queued while its previous commit
ran and archives and applies each (``receive.record``) in one transaction; one commit — one
flush of the database's log to disk (SQLite ``synchronous=FULL``, PostgreSQL's WAL) — then
makes all of them durable together.  Each message's future is
resolved only after that commit returned, and the connection answers AA only then: an AA
always means "the message, its resources and its outcome are on disk"; a crash before the
commit loses only messages that were never acknowledged (their objects are orphans the sweep
removes).

If a group cannot be committed for a reason that is not the database being unavailable (a
bug one message trips), its messages are committed again one by one, so that the others are
not refused with it.  A message that cannot be committed fails its future with the error: its
sender gets "send again later" and its object is removed.
"""

from __future__ import annotations

import logging
import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field

from lab_bridge.prepare import Prepared
from lab_bridge.receive import Processed, applied_already, record, sent
from storage import transaction
from storage.blobs import BlobInfo
from storage.errors import DatabaseUnavailable, StorageError
from storage.platform import Platform

log = logging.getLogger("yilian.mllp")

# At most this many messages in one commit (a group of 5-result messages is ~200 rows each).
GROUP_MESSAGES = 32


@dataclass(slots=True)
class _Entry:
    prepared: Prepared
    stored: BlobInfo
    future: Future[tuple[int, Processed]] = field(default_factory=Future)


class GroupCommit:
    def __init__(self, platform: Platform) -> None:
        self._platform = platform
        self._queue: queue.SimpleQueue[_Entry | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False

    def submit(self, prepared: Prepared, stored: BlobInfo) -> Future[tuple[int, Processed]]:
        """Archive and apply the message whose bytes are ``stored``; the future gives its
        ``hl7_messages`` id and outcome once the commit holding them is done."""
        entry = _Entry(prepared, stored)
        with self._lock:
            if self._closed:
                raise StorageError("the lab bridge is stopping")
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="hl7-commit", daemon=True)
                self._thread.start()
            self._queue.put(entry)
        return entry.future

    def close(self, timeout: float) -> None:
        """Commit what was submitted, then stop the writer."""
        with self._lock:
            self._closed = True
            thread = self._thread
            self._queue.put(None)
        if thread is not None:
            thread.join(timeout)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch, stopping = [first], False
            while len(batch) < GROUP_MESSAGES:
                try:
                    entry = self._queue.get_nowait()
                except queue.Empty:
                    break
                if entry is None:
                    stopping = True
                    break
                batch.append(entry)
            # A message whose connection stopped waiting (cancelled at shutdown) is left out;
            # from here on the others are committed whether or not anyone still waits.
            batch = [e for e in batch if e.future.set_running_or_notify_cancel()]
            if batch:
                self._commit(batch)
            if stopping:
                return

    def _commit(self, batch: list[_Entry]) -> None:
        try:
            with transaction(self._platform.sessions, urgent=True) as session:
                applied = applied_already(session, [sent(e.prepared) for e in batch])
                results = [
                    record(session, self._platform, e.prepared, e.stored, applied) for e in batch
                ]
        except Exception as exc:  # every failure must reach the connections waiting on it
            if len(batch) > 1 and not isinstance(exc, DatabaseUnavailable):
                for entry in batch:  # a message that trips a bug fails alone
                    self._commit([entry])
                return
            if not isinstance(exc, StorageError):
                log.error("HL7 message not stored: internal error", exc_info=exc)
            for entry in batch:
                entry.future.set_exception(exc)
            return
        for entry, result in zip(batch, results, strict=True):
            entry.future.set_result(result)
