"""Runs the DICOM node's association server (``yilian serve``)."""

from __future__ import annotations

import asyncio
import logging
import time

from dicom_node.app import build_ae
from storage.platform import Platform

log = logging.getLogger("yilian.dicom")


async def run(platform: Platform, stop: asyncio.Event) -> None:
    settings = platform.settings
    ae, handlers = build_ae(platform)
    server = ae.start_server(
        (settings.host, settings.dicom_port), block=False, evt_handlers=handlers
    )
    log.info("dicom node listening", extra={"ae_title": settings.ae_title, "port": settings.dicom_port})
    await stop.wait()
    # Stop accepting, then let associations in progress finish (a push in flight completes).
    await asyncio.to_thread(server.shutdown)
    deadline = time.monotonic() + settings.shutdown_grace_seconds
    while server.active_associations and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    for assoc in server.active_associations:
        assoc.abort()
    log.info("dicom node stopped")
