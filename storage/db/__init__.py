"""The database: engine, sessions, transactions, migrations and bulk row writes.

Owns how Yilian talks to SQLite (the embedded default, WAL) and PostgreSQL (production):
building the engine once, one transaction per unit of work (``transaction``; ``reading`` for
work that only reads and may not write), running the Alembic migrations in
``storage/migrations``, and the deferred multi-row inserts that bulk writes use
(``deferred_writes`` / ``add_rows``).  It knows no table of its own; the tables are
in ``storage.models``.
"""

from storage.db.engine import (
    add_rows,
    create_db_engine,
    deferred_writes,
    execute_plain,
    migrate,
    reading,
    refresh_statistics,
    session_factory,
    transaction,
    writable,
    write_pending,
)

__all__ = [
    "add_rows",
    "create_db_engine",
    "deferred_writes",
    "execute_plain",
    "migrate",
    "reading",
    "refresh_statistics",
    "session_factory",
    "transaction",
    "writable",
    "write_pending",
]
