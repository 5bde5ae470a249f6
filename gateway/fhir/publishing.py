"""What the server keeps in the FHIR store itself (its terminology, the alliance directory):
written in one transaction, only what changed, and the server's own resources of the given
types deleted when no longer wanted.  A replica publishing at the same moment, or storage
being down, is logged and not raised: the next start or change publishes again."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.fhir.storing import store_if_changed
from storage.db import transaction
from storage.errors import StorageError
from storage.fhir import server_owned
from storage.fhir import store as fhir_store
from storage.platform import Platform

log = logging.getLogger("yilian.fhir")


@contextmanager
def publishing(platform: Platform, what: str) -> Iterator[Session]:
    """A transaction that publishes ``what``; when another replica (or this one's worker)
    published the same at the same moment, or storage is down, it is logged and dropped."""
    try:
        with transaction(platform.sessions) as session:
            yield session
    except IntegrityError:
        log.info("published by another replica at the same time", extra={"what": what})
    except StorageError as exc:
        log.warning("not published; the next start or change will", extra={"what": what,
                    "error": type(exc).__name__})  # fmt: skip


def publish(
    platform: Platform,
    what: str,
    wanted: Callable[[Session], list[dict[str, Any]]],
    owned_types: Iterable[str] = (),
    owned: Callable[[str, str], bool] = lambda _type, _id: True,
) -> None:
    """Store ``wanted`` (what changed) and delete the server's resources of ``owned_types``
    that are not wanted any more (of them, those ``owned`` says this publishing keeps)."""
    written, gone = 0, []
    with publishing(platform, what) as session:
        resources = wanted(session)
        written = sum(1 for r in resources if store_if_changed(session, r, None))
        keep = {(r["resourceType"], r["id"]) for r in resources}
        gone = [(t, i) for t in owned_types for i in server_owned(session, t)
                if (t, i) not in keep and owned(t, i)]  # fmt: skip
        for resource_type, resource_id in gone:
            fhir_store.delete(session, resource_type, resource_id)
    if written or gone:
        log.info("published", extra={"what": what, "written": written, "deleted": len(gone)})
