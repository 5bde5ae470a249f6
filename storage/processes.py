"""Worker processes that never outlive the process that started them.

A ``kill -9`` (or the OOM killer) of ``yilian serve`` gives its pools no chance to stop their
workers, which then live on with init as their parent, holding memory and database
connections.  So each worker watches for itself: the pool's initializer starts a daemon thread
that ends the worker within half a second of its parent's death (when it is re-parented).
Polling the parent id needs no signal set-up that would tie the workers to one thread of the
parent (``PR_SET_PDEATHSIG`` fires when the *thread* that forked dies).  Each worker also
fixes its allocator's mmap threshold (:mod:`storage.malloc`), as ``yilian serve`` does.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import Any

from storage.malloc import fix_mmap_threshold

WATCH_SECONDS = 0.5


def worker_pool(
    processes: int, initializer: Callable[..., None] | None = None, initargs: tuple = ()
) -> ProcessPoolExecutor:
    """A pool of fresh interpreters (``spawn``) that die with this process."""
    return ProcessPoolExecutor(
        processes,
        mp_context=get_context("spawn"),
        initializer=_start,
        initargs=(os.getpid(), initializer, initargs),
    )


def _start(parent: int, initializer: Callable[..., None] | None, initargs: tuple[Any, ...]) -> None:
    die_with(parent)
    if initializer is not None:
        initializer(*initargs)


def die_with(parent: int) -> None:
    """Make this (spawned) process end within half a second of ``parent``'s death, and fix
    its allocator's mmap threshold as ``yilian serve`` does."""
    fix_mmap_threshold()
    threading.Thread(target=_watch, args=(parent,), name="parent-watch", daemon=True).start()


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(WATCH_SECONDS)
    os._exit(1)  # the parent is gone: nobody will collect this worker's results
