"""A queue at SQLite's write lock for the writers of every process on one database file.

SQLite's lock has no queue: a writer that finds it taken sleeps and tries again, its sleeps
growing to 100 ms, and one that commits again the moment it is done wins every race against
it.  With more than one process writing all the time — the HTTP processes of ``yilian serve``
each commit their access records in groups — a waiting commit was seen to miss the lock for
700 ms.  The writers that hold SQLite's lock from their first statement (``BEGIN IMMEDIATE``:
``storage.db.transaction(..., immediate=True)`` or ``urgent=True``) first take an exclusive
``flock`` on a file beside the database; the kernel wakes a waiter the moment it is released.

``flock`` belongs to an open file, so each thread opens the file once (threads of one process
then exclude each other too); a thread already holding it (a transaction inside another) goes
on without taking it again.
"""

from __future__ import annotations

import fcntl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

from storage.errors import DatabaseUnavailable

_held = threading.local()


@contextmanager
def write_turn(database: str) -> Iterator[None]:
    """Hold the write queue of the SQLite file ``database`` for the block."""
    files: dict[str, IO[bytes]] = _held.__dict__.setdefault("files", {})
    depth: dict[str, int] = _held.__dict__.setdefault("depth", {})
    if depth.get(database, 0):
        depth[database] += 1
        try:
            yield
        finally:
            depth[database] -= 1
        return
    lock = files.get(database)
    if lock is None:
        try:
            lock = files[database] = open(f"{database}-writers", "ab")  # noqa: SIM115 (kept)
        except OSError as exc:  # a full disk, a lost volume: as the database itself would fail
            raise DatabaseUnavailable(f"database unavailable: {type(exc).__name__}") from exc
    fcntl.flock(lock, fcntl.LOCK_EX)
    depth[database] = 1
    try:
        yield
    finally:
        depth[database] = 0
        fcntl.flock(lock, fcntl.LOCK_UN)
