"""The HTTP gateway's application factory.  Feature routers (FHIR, DICOMweb, auth, the web
app) plug in here."""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway import cds_hooks, health, patient_link, webapp_site
from gateway.admin import hl7 as hl7_admin
from gateway.admin import operations as admin_operations
from gateway.admin import recognition as admin_recognition
from gateway.admin import registry as admin_registry
from gateway.auth import authorize
from gateway.auth import routes as auth_routes
from gateway.auth.tokens import KeyRing
from gateway.dicomweb import routes as dicomweb_routes
from gateway.dicomweb import workitems as dicomweb_workitems
from gateway.errors import HttpError, ServiceUnavailable
from gateway.fhir import routes as fhir_routes
from gateway.fhir import websocket as fhir_websocket
from gateway.fhir.catalogue import publish_catalogue
from gateway.fhir.directory import publish_directory
from gateway.fhir.http import PREFIX
from gateway.fhir.outcome import FHIR_JSON, operation_outcome
from gateway.fhir.terminology import publish_terminology
from gateway.fhir.validator import Validator
from gateway.indicators.measures import publish_measures
from gateway.unhandled import AnswerUnhandled
from gateway.viewer import site as viewer_site
from gateway.workflow.capacity import publish_capacity
from storage.errors import StorageError
from storage.platform import Platform

log = logging.getLogger("yilian.http")

REQUESTS = Counter("yilian_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram("yilian_http_request_seconds", "HTTP request latency", ["method", "route"])


class _Measure:
    """Request counts and latency per route template (never the concrete path: paths carry
    identifiers).  Plain ASGI, so streamed bodies pass through untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = ["500"]

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = str(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            REQUESTS.labels(scope["method"], route, status[0]).inc()
            LATENCY.labels(scope["method"], route).observe(time.perf_counter() - started)


def create_app(platform: Platform, *, publish: bool = True) -> FastAPI:
    """``publish``: write the server's own resources (terminology, directory, measures,
    catalogue, capacity) at start-up; the further HTTP processes of ``yilian serve`` leave it
    to the first."""
    settings = platform.settings
    validation = Validator(settings.fhir_validation_processes, settings.fhir_required_profiles)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if publish:
            await run_in_threadpool(publish_terminology, platform)
            await run_in_threadpool(publish_directory, platform)
            await run_in_threadpool(publish_measures, platform)
            await run_in_threadpool(publish_catalogue, platform)
            await run_in_threadpool(publish_capacity, platform)
        yield
        await run_in_threadpool(validation.close)

    app = FastAPI(
        title="Yilian 医联", version="0.1.0", docs_url="/docs", redoc_url=None, lifespan=lifespan
    )
    app.state.platform = platform
    app.state.keys = keys = KeyRing(platform.sessions)
    # A request is matched against the routes in this order, at a few microseconds a route:
    # the routers readers and HIS systems call most come first.  The token routes go before
    # FHIR's /{type}/{id}: SMART discovery is at /fhir/.well-known/smart-configuration.  The
    # other paths under /fhir or /dicomweb (the FHIR websocket, the workitems) cannot be
    # taken by the routes before them.
    app.include_router(dicomweb_routes.router(platform))
    app.include_router(auth_routes.router(platform, keys))
    app.include_router(fhir_routes.router(platform, validation))
    app.include_router(health.router(platform))
    app.include_router(authorize.router(platform, keys))
    app.include_router(dicomweb_workitems.router(platform))
    app.include_router(hl7_admin.router(platform))
    app.include_router(admin_registry.router(platform))
    app.include_router(admin_operations.router(platform))
    app.include_router(admin_recognition.router(platform))
    app.include_router(fhir_websocket.router(platform))
    app.include_router(patient_link.router(platform))
    app.include_router(cds_hooks.router(platform))
    app.include_router(webapp_site.router())
    app.include_router(viewer_site.router())
    app.add_middleware(AnswerUnhandled, fhir_prefix=PREFIX)
    app.add_middleware(_Measure)
    if platform.settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=platform.settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=["Authorization", "Accept", "Content-Type", "Prefer", "If-Match"],
            expose_headers=["Content-Location", "Location", "ETag", "Warning"],
            max_age=3600,
        )

    def error(
        request: Request,
        status: int,
        message: str,
        headers: dict[str, str],
        problems: list[tuple[str, str]] | None = None,
    ) -> Response:
        """FHIR calls get an OperationOutcome, everything else ``{"detail": …}``."""
        if request.url.path.startswith(PREFIX):
            outcome = operation_outcome(status, message, problems)
            body = json.dumps(outcome, ensure_ascii=False)
            return Response(body, status, headers, media_type=FHIR_JSON)
        body: dict[str, object] = {"detail": message}
        if problems:
            body["problems"] = [text for _, text in problems]
        return JSONResponse(body, status_code=status, headers=headers)

    @app.exception_handler(HttpError)
    async def http_error(request: Request, exc: HttpError) -> Response:
        return error(request, exc.status, exc.message, exc.headers, exc.problems)

    @app.exception_handler(StorageError)
    async def storage_error(request: Request, exc: StorageError) -> Response:
        """A database or object store that cannot take the work now (down, locked, full) is
        a 503 on every route: the client tries again; the transaction rolled back."""
        route = getattr(request.scope.get("route"), "path", "unmatched")
        log.warning("storage unavailable", extra={"route": route, "error": type(exc).__name__})
        refused = ServiceUnavailable("storage unavailable, try again later")
        return error(request, refused.status, refused.message, refused.headers)

    @app.exception_handler(StarletteHTTPException)
    async def starlette_error(request: Request, exc: StarletteHTTPException) -> Response:
        return error(request, exc.status_code, str(exc.detail), dict(exc.headers or {}))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        return error(request, 400 if request.url.path.startswith(PREFIX) else 422, problems, {})

    @app.get("/metrics", tags=["operations"], include_in_schema=False)
    async def metrics() -> Response:
        return Response(_metrics(), media_type=CONTENT_TYPE_LATEST)

    return app


def _metrics() -> bytes:
    """This process's figures; under ``yilian serve``, those of all its processes (each writes
    its own to the directory named by ``PROMETHEUS_MULTIPROC_DIR``)."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return generate_latest()
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return generate_latest(registry)
