"""Runs the MLLP listener (``yilian serve``): many concurrent connections, one asyncio loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from prometheus_client import Counter

from lab_bridge.intake import Intake
from lab_bridge.mllp import MAX_MESSAGE_BYTES, FrameTooLarge, frame, read_frame
from storage.platform import Platform

log = logging.getLogger("yilian.mllp")
MESSAGES = Counter("yilian_mllp_messages_total", "HL7 messages answered", ["ack"])
SKIPPED = Counter("yilian_mllp_skipped_bytes_total", "Bytes outside MLLP frames")


class Connection:
    """One peer connection; ``busy`` while a message is being stored and acknowledged."""

    def __init__(
        self, intake: Intake, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.intake = intake
        self.reader = reader
        self.writer = writer
        self.busy = False
        self.closing = False

    async def serve(self) -> None:
        try:
            while not self.closing:
                try:
                    message, skipped = await read_frame(self.reader)
                except FrameTooLarge:
                    log.warning("oversized MLLP frame skipped")
                    continue
                if skipped:
                    SKIPPED.inc(skipped)
                if message is None:
                    return
                if message:
                    self.busy = True
                    outcome = await self.intake.answer(message)
                    MESSAGES.labels(outcome.code.value).inc()
                    self.writer.write(frame(outcome.ack))
                    await self.writer.drain()
                    self.busy = False
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            self.writer.close()
            with contextlib.suppress(ConnectionError):
                await self.writer.wait_closed()


async def run(platform: Platform, stop: asyncio.Event) -> None:
    settings = platform.settings
    intake = await asyncio.to_thread(Intake, platform, settings.hl7_prepare_processes)
    try:
        await _listen(intake, stop)
    finally:
        await asyncio.to_thread(intake.close, settings.shutdown_grace_seconds)


async def _listen(intake: Intake, stop: asyncio.Event) -> None:
    platform = intake.platform
    settings = platform.settings
    connections: dict[asyncio.Task[None], Connection] = {}

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        connection = Connection(intake, reader, writer)
        connections[task] = connection
        try:
            await connection.serve()
        finally:
            connections.pop(task, None)

    server = await asyncio.start_server(
        on_connect, settings.host, settings.mllp_port, limit=MAX_MESSAGE_BYTES
    )
    platform.readiness.up("mllp")  # bound and serving
    log.info("mllp listening", extra={"port": settings.mllp_port})
    await stop.wait()
    server.close()
    # Idle connections are closed now; a message being stored is acknowledged first.
    for task, connection in list(connections.items()):
        connection.closing = True
        if not connection.busy:
            task.cancel()
    if connections:
        _, pending = await asyncio.wait(set(connections), timeout=settings.shutdown_grace_seconds)
        for task in pending:
            task.cancel()
    log.info("mllp stopped")
