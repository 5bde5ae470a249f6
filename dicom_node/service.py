"""Runs the DICOM node's association server (``yilian serve``)."""

from __future__ import annotations

import asyncio
import logging
import time

from dicom_node.app import build_ae
from dicom_node.ingest_pool import IngestPool
from storage.platform import Platform

log = logging.getLogger("yilian.dicom")


async def run(platform: Platform, stop: asyncio.Event) -> None:
    settings = platform.settings
    pool = None
    if settings.dicom_ingest_processes:
        pool = await asyncio.to_thread(IngestPool, settings, settings.dicom_ingest_processes)
    try:
        await _serve(platform, stop, pool)
    finally:
        if pool is not None:
            await asyncio.to_thread(pool.close)


async def _serve(platform: Platform, stop: asyncio.Event, pool: IngestPool | None) -> None:
    settings = platform.settings
    ae, handlers = build_ae(platform, pool)
    server = ae.start_server(
        (settings.host, settings.dicom_port), block=False, evt_handlers=handlers
    )
    platform.readiness.up("dicom")  # bound, and its thread accepting associations
    log.info(
        "dicom node listening", extra={"ae_title": settings.ae_title, "port": settings.dicom_port}
    )
    await stop.wait()
    # Stop accepting, then let associations in progress finish (a push in flight completes).
    # Connections that never became associations (TCP health probes, silent peers) have no
    # work in flight: their reader threads are stopped at once.  Established associations
    # (a modality in the middle of a push) get the grace period to finish.
    await asyncio.to_thread(server.shutdown)
    deadline = time.monotonic() + settings.shutdown_grace_seconds
    while True:
        established = []
        for assoc in server.active_associations:
            if assoc.is_established:
                established.append(assoc)
            else:
                assoc.dul.kill_dul()
        if not established or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)
    for assoc in established:
        await asyncio.to_thread(assoc.abort)
    log.info("dicom node stopped")
