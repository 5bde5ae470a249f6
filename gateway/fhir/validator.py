"""Validate what clients write: the base R4 definitions, the Yilian profiles a resource claims,
and those the server requires of its type (``fhir_required_profiles``).

The resources of a large Bundle are validated, and their search values extracted, on several
cores.  Both are pure CPU work under the GIL, more than half of the time a transaction of
hundreds of resources takes.  With ``fhir_validation_processes`` > 0, big Bundles are split:
this thread validates one share and worker processes the others.  A worker that dies is
replaced and its share validated here, so a crash never turns into a wrong answer.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from typing import Any

from fhir_profiles.profiles import known
from fhir_profiles.search_values import SearchValue, extract
from fhir_profiles.validation import Problem, validate
from gateway.errors import Unprocessable

log = logging.getLogger("yilian.fhir")

# Below this many resources, sending them to another process costs more than it saves.
MIN_PARALLEL = 64

Item = tuple[Any, str]  # a resource and the type it must be


Prepared = tuple[list[Problem], list[SearchValue]]  # problems, else the search values


def prepare_share(items: list[Item], required: dict[str, list[str]]) -> list[Prepared]:
    """Validate each item and, when it is valid, extract the values it is found by (both pure
    CPU work, done where the cores are)."""
    prepared: list[Prepared] = []
    for resource, expected in items:
        problems = validate(resource, expected, required.get(expected, ()))
        prepared.append((problems, [] if problems else extract(resource)))
    return prepared


class Validator:
    def __init__(self, processes: int, required: dict[str, list[str]]) -> None:
        unknown = sorted(url for urls in required.values() for url in urls if not known(url))
        if unknown:
            raise ValueError(f"fhir_required_profiles: unknown profiles {', '.join(unknown)}")
        self._processes = processes
        self._required = required
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None

    def require_valid(
        self, resource: Any, expected: str, what: str, profiles: list[str] | None = None
    ) -> None:
        """422 naming every problem of ``resource`` (``what``: how the answer calls it), also
        against ``profiles``, if any."""
        required = [*self._required.get(expected, ()), *(profiles or [])]
        problems = validate(resource, expected, required)
        if problems:
            raise Unprocessable(
                f"{what} is not valid", [(p.expression, p.message) for p in problems]
            )

    def prepare_all(self, items: list[Item]) -> list[Prepared]:
        """Each item's problems, or its search values, in order."""
        if self._processes == 0 or len(items) < MIN_PARALLEL:
            return prepare_share(items, self._required)
        parts = self._processes + 1
        size = -(-len(items) // parts)
        shares = [items[i : i + size] for i in range(0, len(items), size)]
        executor = self._started()
        futures: list[Future[list[Prepared]]] = [
            executor.submit(prepare_share, share, self._required) for share in shares[1:]
        ]
        results = prepare_share(shares[0], self._required)
        for share, future in zip(shares[1:], futures, strict=True):
            try:
                results += future.result()
            except BrokenProcessPool:
                log.warning("a FHIR validation worker died; restarting the pool")
                self._restart(executor)
                results += prepare_share(share, self._required)
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
