"""Ingest received instances in worker processes.

Receiving (pynetdicom's PDU handling) and ingesting (parsing, hashing, index rows) both need the
interpreter; in one process they share one GIL, so concurrent pushes do not use a second core.
With ``dicom_ingest_processes`` > 0 the association threads only receive; each instance is
parsed, stored and indexed by a worker process, and the handler waits for the outcome (success
is still answered only once the object is durable and the index committed).  A worker that dies
makes that instance fail with "out of resources" (the modality retries) and the pool restarts.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from storage.dicom import IngestResult, Sender, ingest_file
from storage.errors import StoreUnavailable
from storage.platform import Platform, open_platform
from storage.processes import worker_pool
from storage.settings import Settings

log = logging.getLogger("yilian.dicom")

_platform: Platform | None = None


def _start_worker(settings: dict[str, Any]) -> None:
    global _platform
    _platform = open_platform(Settings(**settings), run_migrations=False)


def _ingest_in_worker(path: str, sender: Sender, expected_sop_uid: str | None) -> IngestResult:
    assert _platform is not None, "worker started without its platform"
    return ingest_file(_platform.sessions, _platform.blobs, Path(path), sender, expected_sop_uid)


def _ready() -> bool:
    return _platform is not None


class IngestPool:
    def __init__(self, settings: Settings, processes: int) -> None:
        self._settings = settings.model_dump()
        self._processes = processes
        self._lock = threading.Lock()
        self._executor = self._start()

    def _start(self) -> ProcessPoolExecutor:
        executor = worker_pool(self._processes, _start_worker, (self._settings,))
        # Start every worker now, not on the first push.
        for done in [executor.submit(_ready) for _ in range(self._processes)]:
            done.result()
        return executor

    def ingest(self, path: Path, sender: Sender, expected_sop_uid: str | None) -> IngestResult:
        executor = self._executor
        try:
            return executor.submit(_ingest_in_worker, str(path), sender, expected_sop_uid).result()
        except BrokenProcessPool as exc:
            with self._lock:
                if self._executor is executor:
                    log.error("an ingest worker died; restarting the pool")
                    self._executor = self._start()
            raise StoreUnavailable("ingest worker unavailable") from exc

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
