"""``yilian serve``: every service of the platform in one process, or just the ones asked for.

Services are found through the ``yilian.services`` entry-point group (name -> ``async run(platform,
stop)``), so this runner starts the DICOM node and the lab bridge without importing them.
Each service marks itself up in ``platform.readiness`` (``/health`` answers 200 only then).
SIGTERM/SIGINT set the shared stop event: listeners close, in-flight work completes, exit 0.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from storage import Platform, Settings, import_alliance_file, open_platform, plugins

log = logging.getLogger("yilian")
ServiceRun = Callable[[Platform, asyncio.Event], Awaitable[None]]
DEMO_ALLIANCE = Path(__file__).resolve().parents[1] / "examples" / "jinhua-alliance.yaml"


def bootstrap(platform: Platform) -> None:
    """Import the configured alliance file and/or the demo alliance (idempotent)."""
    settings = platform.settings
    files = [f for f in (DEMO_ALLIANCE if settings.demo else None, settings.config_file) if f]
    for path in files:
        report = import_alliance_file(platform.sessions, Path(path))
        log.info("alliance file imported", extra={"file": str(path), "summary": report.summary()})


async def _freeze_when_up(platform: Platform) -> None:
    """Once every service is up, what start-up made (modules, the app, caches) is moved out of
    the garbage collector's sight: a full collection then walks only what requests made since,
    not the ~10^6 start-up objects (it took ~120 ms each time a report's PDF set one off)."""
    while not platform.readiness.all_up():
        await asyncio.sleep(0.2)
    gc.collect()
    gc.freeze()
    log.info("start-up objects frozen", extra={"objects": gc.get_freeze_count()})


async def serve(settings: Settings, services: Sequence[str]) -> int:
    available: dict[str, ServiceRun] = plugins("yilian.services")
    missing = [s for s in services if s not in available]
    if missing:
        raise SystemExit(f"unknown or uninstalled services: {', '.join(missing)}")
    platform = await asyncio.to_thread(open_platform, settings)
    try:
        await asyncio.to_thread(bootstrap, platform)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        platform.readiness.expect(services)  # each marks itself up once it takes work
        tasks = {
            asyncio.create_task(available[name](platform, stop), name=name) for name in services
        }
        freezing = asyncio.create_task(_freeze_when_up(platform))
        log.info("yilian started", extra={"services": ",".join(services)})
        failed = False
        pending = tasks
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task.exception() is not None:
                    failed = True
                    log.error(
                        "service failed",
                        exc_info=task.exception(),
                        extra={"service": task.get_name()},
                    )
                elif not stop.is_set():
                    failed = True
                    log.error("service ended unexpectedly", extra={"service": task.get_name()})
            stop.set()  # one service ending ends them all
        freezing.cancel()
        log.info("yilian stopped", extra={"clean": not failed})
        return 1 if failed else 0
    finally:
        platform.close()
