"""Runs the HTTP gateway inside the shared event loop (``yilian serve``), with its helper
processes when ``http_processes`` > 1 (``gateway.http_processes``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable, Generator

import uvicorn

from gateway.app import create_app
from gateway.http_processes import Helpers, listening_socket
from storage.platform import Platform

log = logging.getLogger("yilian.http")


class _EmbeddedServer(uvicorn.Server):
    """uvicorn without its own signal handling (the process-wide runner owns SIGTERM), calling
    ``started`` once its socket is bound and serving."""

    def __init__(self, config: uvicorn.Config, started: Callable[[], None]) -> None:
        super().__init__(config)
        self.on_started = started

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self.on_started()


async def serve_until(
    platform: Platform,
    stop: asyncio.Event,
    sockets: list[socket.socket] | None,
    started: Callable[[], None],
    *,
    publish: bool = True,
) -> None:
    """Answer HTTP (on ``sockets``, else the configured address) until ``stop``, then finish
    the requests in flight; ``started()`` once it answers."""
    settings = platform.settings
    config = uvicorn.Config(
        create_app(platform, publish=publish),
        host=settings.host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds),
    )
    server = _EmbeddedServer(config, started)
    serving = asyncio.create_task(server.serve(sockets))
    stopping = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if serving in done:
        stopping.cancel()
        serving.result()  # a failed start (port taken) surfaces here
        raise RuntimeError("HTTP server stopped unexpectedly")
    server.should_exit = True  # finishes in-flight requests, then returns
    await serving


async def run(platform: Platform, stop: asyncio.Event) -> None:
    settings = platform.settings
    if settings.http_processes == 1:
        await serve_until(platform, stop, None, lambda: platform.readiness.up("http"))
    else:
        await _run_with_helpers(platform, stop)
    log.info("http stopped")


async def _run_with_helpers(platform: Platform, stop: asyncio.Event) -> None:
    settings = platform.settings
    sock = listening_socket(settings.host, settings.http_port)
    services = list(platform.readiness.states())
    helpers = Helpers(settings, sock.getsockname()[1], settings.http_processes - 1, services)
    helpers.start()
    listening, halt = asyncio.Event(), asyncio.Event()

    async def supervise() -> None:
        await listening.wait()
        while any(s != "up" for n, s in platform.readiness.states().items() if n != "http"):
            await asyncio.sleep(0.1)
        await helpers.serve()
        platform.readiness.up("http")
        raise RuntimeError(f"HTTP process {await helpers.ended()} ended")

    own = asyncio.create_task(serve_until(platform, halt, [sock], listening.set))
    watching = asyncio.create_task(supervise())
    stopping = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait({own, watching, stopping}, return_when=asyncio.FIRST_COMPLETED)
    halt.set()
    watching.cancel()
    stopping.cancel()
    outcomes = await asyncio.gather(
        own, helpers.stop(settings.shutdown_grace_seconds), return_exceptions=True
    )
    for task in (watching, own):  # what ended it first, if it failed
        if task in done and not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
