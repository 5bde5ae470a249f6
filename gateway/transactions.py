"""One unit of work for a route: the work runs in a database transaction, or for a read in a
read-only session answered once its access records are committed.  Storage that cannot be
reached raises :class:`storage.StorageError`, which the app answers with 503 on every route."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from gateway.fhir.outcome import FHIR_JSON
from storage.db import transaction
from storage.json_codec import dump_bytes
from storage.platform import Platform

T = TypeVar("T")


def run_in_transaction(platform: Platform, work: Callable[[Session], T]) -> T:
    with transaction(platform.sessions) as session:
        return work(session)


async def json_answer(platform: Platform, work: Callable[[Session], Any]) -> Response:
    """The work's result as the JSON body of a FHIR operation's answer."""
    body = await run_in_threadpool(run_in_transaction, platform, work)
    return Response(dump_bytes(body), media_type=FHIR_JSON)


async def audited_read(platform: Platform, work: Callable[[Session], T]) -> T:
    """``work`` in a read-only session, its result once the audit log has committed its
    access records."""
    body, pending = await run_in_threadpool(platform.audit.read, work)
    await pending
    return body


async def json_read(platform: Platform, work: Callable[[Session], Any]) -> Response:
    """:func:`json_answer` for an operation that only reads (:func:`audited_read`)."""
    return Response(dump_bytes(await audited_read(platform, work)), media_type=FHIR_JSON)
