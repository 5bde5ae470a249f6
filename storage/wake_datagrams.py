"""Workers woken across processes on SQLite: one datagram per committed transaction that
enqueued outbox events, sent to the worker of the same database file.

SQLite has no LISTEN/NOTIFY.  ``yilian serve`` runs its worker in its first process, and its
further HTTP processes (``gateway.http_processes``) write orders, reports and Subscriptions
too: without a signal the worker found their events only at its next poll (an order's reading
Task ~0.3-1 s after it was placed, against ~50 ms in the worker's own process).  The worker
binds a Unix datagram socket in the abstract namespace (no file to leave behind), named after
the database file; a committer sends it an empty datagram, never waiting: if no worker listens,
or its queue is full, the worker's poll still finds the events.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
from functools import lru_cache

from sqlalchemy.engine import make_url

_bound_here: set[str] = set()  # a worker of this process listens: it is woken in process


@lru_cache(maxsize=8)
def address(database_url: str) -> str | None:
    """The worker's address for a SQLite database file (None: another database, or memory)."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    path = os.path.realpath(url.database)
    return "\0yilian-outbox-" + hashlib.sha256(path.encode()).hexdigest()[:32]


def bind(database_url: str) -> socket.socket | None:
    """The worker's socket (None: not SQLite, or another worker of this database listens)."""
    name = address(database_url)
    if name is None:
        return None
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        receiver.bind(name)
    except OSError:
        receiver.close()
        return None
    _bound_here.add(name)
    return receiver


def unbind(database_url: str, receiver: socket.socket) -> None:
    _bound_here.discard(address(database_url) or "")
    receiver.close()


def tell(database_url: str) -> None:
    """Wake the worker of this SQLite database if it runs in another process."""
    name = address(database_url)
    if name is None or name in _bound_here:
        return
    with contextlib.suppress(OSError):  # nobody listens, or its queue is full: it polls
        _socket().sendto(b"", name)


@lru_cache(maxsize=1)
def _socket() -> socket.socket:
    sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sender.setblocking(False)
    return sender
