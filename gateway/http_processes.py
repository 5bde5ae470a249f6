"""Further HTTP processes of ``yilian serve``: the same app answering on the same port.

One Python process answers HTTP with one core at most (the interpreter's lock): a FHIR read or
a WADO-RS frame costs ~1.5 ms of it, so one process tops out near 600 requests a second while
the machine's other cores idle.  ``http_processes`` > 1 starts that many processes in all: the
first (``yilian serve`` itself, which also runs the other services) and helpers, spawned
interpreters that open the platform and serve only HTTP.  Every one binds the port with
``SO_REUSEPORT`` and the kernel spreads new connections over them.

What a helper does not hold is already shared: tokens are verified with the keys in the
database, sessions and access records are rows, websocket Subscriptions poll the database, the
events a helper's writes enqueue wake the first process's worker (``storage.wake``), and
``/metrics`` sums every process's figures (``PROMETHEUS_MULTIPROC_DIR``).  A helper writes
nothing at start-up (the first publishes the server's own resources), and it listens only once
every service of the first is up, so whichever process answers ``/health`` 200, all are.

Helpers end with the first: on its SIGTERM they finish their requests and stop; after a
``kill -9`` of it they exit within half a second (``storage.processes.die_with``).  A helper
that ends by itself ends ``yilian serve`` (its supervisor restarts the whole).
"""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import socket
import time
from collections.abc import Sequence
from multiprocessing import get_context
from multiprocessing.synchronize import Event as EventType

import uvloop

from storage.logs import configure_logging
from storage.platform import Platform, open_platform
from storage.processes import die_with
from storage.settings import Settings

START_SECONDS = 180.0  # a helper imports and opens everything; a loaded machine is slow at it
POLL_SECONDS = 0.5


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` that other processes may bind too (not yet listening:
    the server listens once it is ready to answer)."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(address)
    sock.set_inheritable(False)
    return sock


class Helpers:
    """``count`` helper processes for ``settings`` on ``port``; ``services``: those of the
    first process (a helper's ``/health`` reports them up, as they are once it listens)."""

    def __init__(self, settings: Settings, port: int, count: int, services: Sequence[str]) -> None:
        context = get_context("spawn")
        self._go = context.Event()
        self._ready = [context.Event() for _ in range(count)]
        self._processes = [
            context.Process(
                target=_helper_main,
                args=(settings, port, os.getpid(), list(services), self._go, ready),
                name=f"yilian-http-{n + 2}",
            )
            for n, ready in enumerate(self._ready)
        ]

    def start(self) -> None:
        """Spawn them: each opens the platform and builds the app, then waits for ``serve``."""
        for process in self._processes:
            process.start()

    async def serve(self) -> None:
        """Let them listen; returns once every one answers (raises if one ended instead)."""
        self._go.set()
        await asyncio.to_thread(self._wait_ready)

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_SECONDS
        for process, ready in zip(self._processes, self._ready, strict=True):
            while not ready.wait(POLL_SECONDS):
                if not process.is_alive():
                    raise RuntimeError(f"{process.name} ended while starting ({process.exitcode})")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{process.name} did not start in {START_SECONDS:.0f} s")

    async def ended(self) -> str:
        """Returns the name of the first helper found to have ended."""
        while True:
            for process in self._processes:
                if not process.is_alive():
                    return process.name
            await asyncio.sleep(POLL_SECONDS)

    async def stop(self, grace: float) -> None:
        """SIGTERM each (it finishes its requests), SIGKILL any still there after ``grace``."""
        for process in self._processes:
            if process.is_alive():
                process.terminate()
        await asyncio.to_thread(self._join, grace)

    def _join(self, grace: float) -> None:
        deadline = time.monotonic() + grace + 5
        for process in self._processes:
            if process.pid is None:
                continue
            process.join(max(deadline - time.monotonic(), 0))
            if process.is_alive():
                process.kill()
                process.join()


def _helper_main(
    settings: Settings,
    port: int,
    parent: int,
    services: list[str],
    go: EventType,
    ready: EventType,
) -> None:
    die_with(parent)
    configure_logging(settings.log_level, settings.log_format)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(_helper(settings, port, services, go, ready))


async def _helper(
    settings: Settings, port: int, services: list[str], go: EventType, ready: EventType
) -> None:
    from gateway.service import serve_until  # the service module imports this one

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    platform: Platform = await asyncio.to_thread(open_platform, settings, run_migrations=False)
    try:
        platform.readiness.expect(services)
        while not go.wait(0) and not stop.is_set():
            await asyncio.sleep(0.05)
        if stop.is_set():
            return

        def started() -> None:
            for service in services:
                platform.readiness.up(service)
            ready.set()
            gc.collect()
            gc.freeze()  # as the first process does: start-up objects out of the collector's way

        await serve_until(
            platform, stop, [listening_socket(settings.host, port)], started, publish=False
        )
    finally:
        platform.close()
