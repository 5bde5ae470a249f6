"""Runs the HTTP gateway inside the shared event loop (``yilian serve``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Generator

import uvicorn

from gateway.app import create_app
from storage.platform import Platform

log = logging.getLogger("yilian.http")


class _EmbeddedServer(uvicorn.Server):
    """uvicorn without its own signal handling: the process-wide runner owns SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


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
    server = _EmbeddedServer(config)
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
