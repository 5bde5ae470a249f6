"""One unit of work for a route: the work runs in a database transaction, or for a read in a
read-only session answered once its access records are committed; storage that cannot be
reached is a 503 (the client tries again), never a 500."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from gateway.errors import ServiceUnavailable
from gateway.fhir.outcome import FHIR_JSON
from storage import StorageError
from storage.db import transaction
from storage.json_codec import dump_bytes
from storage.platform import Platform

T = TypeVar("T")


def run_in_transaction(platform: Platform, work: Callable[[Session], T]) -> T:
    try:
        with transaction(platform.sessions) as session:
            return work(session)
    except StorageError as exc:
        raise ServiceUnavailable("storage unavailable, try again later") from exc


async def json_answer(platform: Platform, work: Callable[[Session], Any]) -> Response:
    """The work's result as the JSON body of a FHIR operation's answer."""
    body = await run_in_threadpool(run_in_transaction, platform, work)
    return Response(dump_bytes(body), media_type=FHIR_JSON)


async def audited_read(platform: Platform, work: Callable[[Session], T]) -> T:
    """``work`` in a read-only session, its result once the audit log has committed its
    access records."""
    try:
        body, pending = await run_in_threadpool(platform.audit.read, work)
        await pending
    except StorageError as exc:
        raise ServiceUnavailable("storage unavailable, try again later") from exc
    return body


async def json_read(platform: Platform, work: Callable[[Session], Any]) -> Response:
    """:func:`json_answer` for an operation that only reads (:func:`audited_read`)."""
    return Response(dump_bytes(await audited_read(platform, work)), media_type=FHIR_JSON)
