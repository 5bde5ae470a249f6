"""Workers of other processes woken when events are committed.

PostgreSQL: a transaction that enqueues an outbox event notifies
:data:`storage.outbox.WAKE_CHANNEL`; the notification is delivered when it commits.
:func:`listen` holds one connection listening on that channel and sets
:data:`storage.outbox.work_committed` for each notification, so that a worker in another process
than the writer (the production topology: gateways, DICOM nodes and MLLP listeners apart from
the workers) starts on new events at once instead of at its next poll.  A lost connection is
reopened; polling still finds whatever arrives meanwhile.

SQLite has no such channel: the committer sends a datagram to the database's worker instead
(:mod:`storage.wake_datagrams`), which :func:`listen` receives.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading

import psycopg
from sqlalchemy.engine import make_url

from storage import outbox, wake_datagrams

log = logging.getLogger("yilian.worker")

RECONNECT_SECONDS = 2.0
WAIT_SECONDS = 0.5  # how long one wait for a notification lasts before ``stop`` is checked


def listen(database_url: str, stop: threading.Event) -> threading.Thread | None:
    """Start listening in a daemon thread (None: nothing to listen to, e.g. another worker of
    this SQLite database listens already)."""
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
        target, args = _loop, (plain, stop)
    elif (receiver := wake_datagrams.bind(database_url)) is not None:
        target, args = _datagrams, (database_url, receiver, stop)
    else:
        return None
    thread = threading.Thread(target=target, args=args, name="outbox-listen", daemon=True)
    thread.start()
    return thread


def _datagrams(database_url: str, receiver: socket.socket, stop: threading.Event) -> None:
    receiver.settimeout(WAIT_SECONDS)
    try:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                receiver.recv(16)
                outbox.work_committed.set()
    finally:
        wake_datagrams.unbind(database_url, receiver)


def _loop(conninfo: str, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            with psycopg.connect(conninfo, autocommit=True) as conn:
                conn.execute(f"LISTEN {outbox.WAKE_CHANNEL}")
                log.info("listening for new outbox events")
                while not stop.is_set():
                    for _ in conn.notifies(timeout=WAIT_SECONDS, stop_after=1):
                        outbox.work_committed.set()
        except psycopg.Error as exc:
            log.warning(
                "outbox notifications lost; reconnecting", extra={"error": type(exc).__name__}
            )
            stop.wait(RECONNECT_SECONDS)
