"""Turns at SQLite's one write lock among the writers of one process.

A writer that waits for SQLite's lock polls it with growing sleeps (up to 100 ms); a writer
that starts a transaction the moment its last one ended wins every race against it.  The
worker's batches (``storage.worker``) are such a writer; the HL7 group commit, whose senders
wait for their ACK, is not.  The latency-bound writer marks its transactions ``urgent``; the
background one (``transaction(..., immediate=True)`` on SQLite), before each of its
transactions, lets the urgent ones pending go first (for at most ``YIELD_SECONDS``, so that it
is never starved).  PostgreSQL has no whole-database lock: nothing waits there.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

YIELD_SECONDS = 0.1  # the longest a background writer lets the urgent ones go first


class Turns:
    def __init__(self) -> None:
        self._urgent = 0
        self._changed = threading.Condition()

    @contextmanager
    def urgent(self) -> Iterator[None]:
        """Around a transaction someone is waiting for."""
        with self._changed:
            self._urgent += 1
        try:
            yield
        finally:
            with self._changed:
                self._urgent -= 1
                self._changed.notify_all()

    def after_urgent(self, longest: float) -> None:
        """Return when no urgent transaction is pending, or after ``longest`` seconds."""
        with self._changed:
            self._changed.wait_for(lambda: self._urgent == 0, timeout=longest)


WRITE_TURNS = Turns()
