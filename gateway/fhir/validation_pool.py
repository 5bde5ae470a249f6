"""Validate the resources of a large Bundle on several cores.

Validation (the R4B models, invariants, bindings) is pure CPU work under the GIL; for a Bundle
of hundreds of resources it is a third of the time a transaction takes.  With
``fhir_validation_processes`` > 0, big Bundles are split: this thread validates one share and
worker processes the others.  A worker that dies is replaced and its share validated here, so
a crash never turns into a wrong answer.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from typing import Any

from fhir_profiles.validation import Problem, validate

log = logging.getLogger("yilian.fhir")

# Below this many resources, sending them to another process costs more than it saves.
MIN_PARALLEL = 64

Item = tuple[Any, str]  # a resource and the type it must be


def validate_share(items: list[Item]) -> list[list[Problem]]:
    return [validate(resource, expected) for resource, expected in items]


class ValidationPool:
    def __init__(self, processes: int) -> None:
        self._processes = processes
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None

    def validate_all(self, items: list[Item]) -> list[list[Problem]]:
        """The problems of each item, in order."""
        if self._processes == 0 or len(items) < MIN_PARALLEL:
            return validate_share(items)
        parts = self._processes + 1
        size = -(-len(items) // parts)
        shares = [items[i : i + size] for i in range(0, len(items), size)]
        executor = self._started()
        futures: list[Future[list[list[Problem]]]] = [
            executor.submit(validate_share, share) for share in shares[1:]
        ]
        results = validate_share(shares[0])
        for share, future in zip(shares[1:], futures, strict=True):
            try:
                results += future.result()
            except BrokenProcessPool:
                log.warning("a FHIR validation worker died; restarting the pool")
                self._restart(executor)
                results += validate_share(share)
        return results

    def _started(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ProcessPoolExecutor(
                    self._processes, mp_context=get_context("spawn")
                )
            return self._executor

    def _restart(self, broken: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._executor is broken:
                self._executor = None
        broken.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
