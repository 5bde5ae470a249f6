"""What every service of one process shares: settings, the database, the object store, the
audit log's writer, and the record of which services are up."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from storage.audit import AuditLog
from storage.blobs import BlobStore, S3BlobStore, open_blob_store
from storage.db import create_db_engine, migrate, session_factory
from storage.errors import DatabaseUnavailable, StorageError
from storage.readiness import Readiness
from storage.settings import Settings


@dataclass
class Platform:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    blobs: BlobStore
    audit: AuditLog
    readiness: Readiness = field(default_factory=Readiness)

    @property
    def reads_in_place(self) -> bool:
        """Whether a read of one row by its key runs where it is asked (an HTTP process's event
        loop) instead of on a thread: on SQLite, a library reading its own file through the
        page cache, where such a read takes a few tens of microseconds — less than handing it
        to one of the thread pool's threads, whose contention for the interpreter's lock cost
        ~0.5 ms of CPU a read under load.  Never over a network (PostgreSQL): a round trip
        would hold every other request of the loop."""
        return self.engine.dialect.name == "sqlite"

    def close(self) -> None:
        self.audit.close()
        self.engine.dispose()

    def health(self) -> dict[str, str]:
        """``ok`` or a short reason per dependency (no secrets, no patient data)."""
        status: dict[str, str] = {}
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            status["database"] = "ok"
        except SQLAlchemyError as exc:
            status["database"] = f"unavailable: {type(exc).__name__}"
        try:
            self.blobs.check()
            status["object_store"] = "ok"
        except StorageError as exc:
            status["object_store"] = f"unavailable: {exc}"
        return status


def open_platform(settings: Settings, *, run_migrations: bool = True) -> Platform:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_db_engine(
        settings.effective_database_url, lock_wait_seconds=settings.database_lock_wait_seconds
    )
    try:
        if run_migrations:
            migrate(engine)
        blobs = open_blob_store(settings.effective_object_store_url)
        if isinstance(blobs, S3BlobStore):
            blobs.ensure_bucket()
    except (StorageError, SQLAlchemyError) as exc:
        engine.dispose()
        if isinstance(exc, SQLAlchemyError):
            raise DatabaseUnavailable(f"database unavailable: {type(exc).__name__}") from exc
        raise
    sessions = session_factory(engine)
    # A request waits for its access record longer than the record's commit waits for the lock.
    audit = AuditLog(sessions, wait_seconds=settings.database_lock_wait_seconds + 30)
    return Platform(settings, engine, sessions, blobs, audit)


def plugins(group: str) -> dict[str, Any]:
    """Objects that installed packages register under ``group`` (see pyproject.toml)."""
    return {ep.name: ep.load() for ep in entry_points(group=group)}
