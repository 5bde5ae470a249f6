"""One unit of work for a route: the work runs in a database transaction; storage that cannot
be reached is a 503 (the client tries again), never a 500."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.orm import Session

from gateway.errors import ServiceUnavailable
from storage import StorageError
from storage.db import transaction
from storage.platform import Platform

T = TypeVar("T")


def run_in_transaction(platform: Platform, work: Callable[[Session], T]) -> T:
    try:
        with transaction(platform.sessions) as session:
            return work(session)
    except StorageError as exc:
        raise ServiceUnavailable("storage unavailable, try again later") from exc
