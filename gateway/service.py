"""Runs the HTTP gateway inside the shared event loop (``yilian serve``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Generator

import uvicorn

from gateway.app import create_app
from storage.platform import Platform
from storage.readiness import Readiness

log = logging.getLogger("yilian.http")


class _EmbeddedServer(uvicorn.Server):
    """uvicorn without its own signal handling (the process-wide runner owns SIGTERM), marking
    the service up once its socket is bound and serving."""

    def __init__(self, config: uvicorn.Config, readiness: Readiness) -> None:
        super().__init__(config)
        self.readiness = readiness

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self.readiness.up("http")


async def run(platform: Platform, stop: asyncio.Event) -> None:
    settings = platform.settings
    config = uvicorn.Config(
        create_app(platform),
        host=settings.host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds),
    )
    server = _EmbeddedServer(config, platform.readiness)
    serving = asyncio.create_task(server.serve())
    stopping = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if serving in done:
        stopping.cancel()
        serving.result()  # a failed start (port taken) surfaces here
        raise RuntimeError("HTTP server stopped unexpectedly")
    server.should_exit = True  # finishes in-flight requests, then returns
    await serving
    log.info("http stopped")
