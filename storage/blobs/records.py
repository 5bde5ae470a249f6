"""Store an object and record it: the object first, then its row, in that order only.

A row in ``stored_objects`` (key, size, SHA-256) is committed only after the object is durable,
so no row ever points at a missing object.  If the row cannot be committed the object is removed
again; objects orphaned by a crash between the two steps are removed by :func:`sweep_orphans`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage.blobs.store import BlobInfo, BlobStore
from storage.db import transaction
from storage.errors import StorageError
from storage.models import StoredObject


class ObjectExists(StorageError):
    """A row already records an object under this key; objects are never overwritten."""


def store_object(
    sessions: sessionmaker[Session],
    store: BlobStore,
    key: str,
    data: BinaryIO | Iterable[bytes],
    on_stored: Callable[[Session, BlobInfo], None] | None = None,
    *,
    key_is_new: bool = False,
) -> BlobInfo:
    """Write ``data`` under ``key``, then commit its row and whatever ``on_stored`` adds
    (index rows, outbox events) in one transaction.  On any failure nothing stays behind.
    ``key_is_new``: the caller made the key unique, skip looking for an existing object."""
    if not key_is_new:
        with transaction(sessions) as session:
            if session.get(StoredObject, key) is not None:
                raise ObjectExists(f"an object is already recorded under {key!r}")
    info = store.put(key, data)
    try:
        with transaction(sessions) as session:
            session.add(StoredObject(key=info.key, size=info.size, sha256=info.sha256))
            if on_stored is not None:
                on_stored(session, info)
    except BaseException:
        with contextlib.suppress(StorageError):
            store.delete(info.key)
        raise
    return info


def sweep_orphans(
    sessions: sessionmaker[Session],
    store: BlobStore,
    prefix: str = "",
    older_than: timedelta = timedelta(hours=1),
    batch: int = 500,
) -> int:
    """Delete objects under ``prefix`` that no row records and that are older than the grace
    period (younger ones may belong to a write still in progress).  Returns how many."""
    cutoff = datetime.now(UTC) - older_than
    removed = 0
    pending: list[str] = []

    def flush() -> int:
        with transaction(sessions) as session:
            known = set(
                session.scalars(select(StoredObject.key).where(StoredObject.key.in_(pending)))
            )
        count = 0
        for key in pending:
            if key not in known and store.stat(key).modified < cutoff:
                store.delete(key)
                count += 1
        pending.clear()
        return count

    for key in store.list(prefix):
        pending.append(key)
        if len(pending) >= batch:
            removed += flush()
    if pending:
        removed += flush()
    return removed
