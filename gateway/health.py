"""``GET /health``: this process's dependencies (database, object store) and its services.

200 ``ok`` only when every dependency answers and every service the process was started with
(``http``, ``dicom``, ``mllp``, ``worker``) takes work; otherwise 503, ``unavailable`` when a
dependency fails, ``starting`` while a service is not up yet.  A script that waits for 200 can
push a study or send a message at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from storage.platform import Platform


def health_answer(
    checks: Mapping[str, str], services: Mapping[str, str]
) -> tuple[int, dict[str, Any]]:
    """The status code and body for these dependency checks and service states."""
    if any(result != "ok" for result in checks.values()):
        status = "unavailable"
    elif any(state != "up" for state in services.values()):
        status = "starting"
    else:
        status = "ok"
    body = {"status": status, "checks": dict(checks), "services": dict(services)}
    return 200 if status == "ok" else 503, body


def router(platform: Platform) -> APIRouter:
    api = APIRouter(tags=["operations"])

    @api.get("/health")
    async def health() -> JSONResponse:
        checks = await run_in_threadpool(platform.health)
        code, body = health_answer(checks, platform.readiness.states())
        return JSONResponse(body, status_code=code)

    return api
