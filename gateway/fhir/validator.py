"""Validate what clients write: the base R4 definitions, the Yilian profiles a resource claims,
and those the server requires of its type (``fhir_required_profiles``).

The resources of a large Bundle are validated, and their index rows made, on several cores:
both are pure CPU work under the GIL, about half of what a transaction of hundreds of
resources costs.  With ``fhir_validation_processes`` > 0, :meth:`Validator.prepared` hands
chunks of a Bundle to worker processes and yields the results in order as they come back, so
the caller writes the first resources while the workers validate the next; while it waits for
a chunk, it validates one of the last chunks itself.  A worker that dies is replaced and its
chunk validated here, so a crash never turns into a wrong answer.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from fhir_profiles.profiles import known
from fhir_profiles.search_values import extract
from fhir_profiles.validation import Problem, validate
from gateway.errors import Unprocessable
from storage.fhir import IndexRows, index_rows
from storage.processes import worker_pool

log = logging.getLogger("yilian.fhir")

# Below this many resources, sending them to another process costs more than it saves.
MIN_PARALLEL = 64
# Resources per chunk handed to a worker: small enough that the first results come back soon;
# each worker has up to this many chunks queued, so that it rarely waits for the caller.
CHUNK = 32
QUEUED = 3

Item = tuple[Any, str]  # a resource and the type it must be


Prepared = tuple[list[Problem], IndexRows]  # problems, else the index rows


def prepare_share(items: list[Item], required: dict[str, list[str]]) -> list[Prepared]:
    """Validate each item and, when it is valid, make the index rows it is found by (both pure
    CPU work, done where the cores are; the rows are plain data, cheap to send back)."""
    prepared: list[Prepared] = []
    for resource, expected in items:
        problems = validate(resource, expected, required.get(expected, ()))
        prepared.append((problems, {} if problems else index_rows(resource, extract(resource))))
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

    def prepared(self, items: list[Item]) -> Iterator[Prepared]:
        """Each item's problems, or its index rows, in order, as soon as they are known."""
        if self._processes == 0 or len(items) < MIN_PARALLEL:
            yield from prepare_share(items, self._required)
            return
        chunks = [items[i : i + CHUNK] for i in range(0, len(items), CHUNK)]
        sent: dict[int, tuple[Future[list[Prepared]], ProcessPoolExecutor]] = {}
        done_here: dict[int, list[Prepared]] = {}
        front, back = 0, len(chunks)  # chunks [front, back) are neither sent nor done here
        try:
            for index in range(len(chunks)):
                while front < back and len(sent) < QUEUED * self._processes:
                    sent[front] = self._submit(chunks[front])
                    front += 1
                if index in done_here:
                    yield from done_here.pop(index)
                    continue
                future, executor = sent.pop(index)
                while not future.done() and front < back:
                    back -= 1
                    done_here[back] = prepare_share(chunks[back], self._required)
                yield from self._result(future, chunks[index], executor)
        finally:
            for future, _ in sent.values():
                future.cancel()

    def _submit(self, chunk: list[Item]) -> tuple[Future[list[Prepared]], ProcessPoolExecutor]:
        executor = self._started()
        try:
            return executor.submit(prepare_share, chunk, self._required), executor
        except BrokenProcessPool:  # a worker died since the last chunk came back
            self._restart(executor)
            return self._submit(chunk)

    def _result(
        self, future: Future[list[Prepared]], chunk: list[Item], executor: ProcessPoolExecutor
    ) -> list[Prepared]:
        try:
            return future.result()
        except BrokenProcessPool:
            log.warning("a FHIR validation worker died; restarting the pool")
            self._restart(executor)
            return prepare_share(chunk, self._required)

    def _started(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = worker_pool(self._processes)
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
