"""Engine, sessions and migrations.

SQLite (WAL, foreign keys on, full fsync at commit) is the embedded default; PostgreSQL is chosen
by URL.  Writes go through ``transaction``, reads through ``reading`` (which cannot write).  The
engine is built once per process and injected; every SQLAlchemy error that means "the database
is not usable now" becomes :class:`storage.errors.DatabaseUnavailable`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from threading import Lock
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import (
    Connection,
    CursorResult,
    Dialect,
    Engine,
    Executable,
    Table,
    create_engine,
    event,
    insert,
    make_url,
)
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker

from storage import json_codec
from storage.db.turns import WRITE_TURNS, YIELD_SECONDS
from storage.db.write_queue import write_turn
from storage.errors import DatabaseUnavailable

MIGRATIONS_DIR = Path(__file__).parent.parent / "migrations"
# JSON columns (FHIR resources) are written and read with orjson.
_JSON: dict[str, Any] = {"json_serializer": json_codec.dumps, "json_deserializer": json_codec.loads}
SQLITE_POOL_SIZE = 40


def create_db_engine(url: str, *, lock_wait_seconds: float = 30.0) -> Engine:
    """``lock_wait_seconds``: how long an SQLite write waits for another writer's lock before
    failing (the sender then gets a "try later" answer)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": lock_wait_seconds},
            pool_pre_ping=False,
            # A connection kept for each thread that reads at once (the HTTP thread pool has
            # 40): with SQLAlchemy's default of 5, the others opened and closed one per request,
            # each opening running the pragmas below and mapping the file again.
            pool_size=SQLITE_POOL_SIZE,
            max_overflow=SQLITE_POOL_SIZE,
            **_JSON,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() in ("", "psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return create_engine(parsed, pool_pre_ping=True, pool_size=10, max_overflow=20, **_JSON)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    # WAL: readers never wait for the writer and the writer never waits for readers; there is
    # still one writer at a time, which is why reads write nothing (see ``reading``).
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # FULL: in WAL mode the log is synced at every commit, so a committed transaction (a stored
    # instance, a batch of access records) survives power loss; NORMAL would sync only at
    # checkpoints and lose the last commits with the machine.  The durability contract needs
    # FULL; its price, one fsync per commit, is paid once per batch by the audit log.
    cursor.execute("PRAGMA synchronous=FULL")
    # The default page cache is 2 MB: a FHIR index of a million resources needs more to keep
    # inserts and lookups off the disk; reads go through a memory map shared by connections.
    cursor.execute("PRAGMA cache_size=-131072")
    cursor.execute("PRAGMA mmap_size=2147483648")
    # Checkpoint the WAL every ~40 MB instead of 4 MB: bulk writes touch the same index pages
    # again and again, and each checkpoint writes and syncs them into the database file.
    cursor.execute("PRAGMA wal_autocheckpoint=10000")
    cursor.execute("PRAGMA journal_size_limit=67108864")
    cursor.close()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def _translated() -> Iterator[None]:
    """SQLAlchemy errors that mean "not usable now" as :class:`DatabaseUnavailable`."""
    try:
        yield
    except (OperationalError, DBAPIError) as exc:
        if isinstance(exc, OperationalError) or exc.connection_invalidated:
            raise DatabaseUnavailable(f"database unavailable: {type(exc.orig).__name__}") from exc
        raise


@contextmanager
def transaction(
    sessions: sessionmaker[Session], *, immediate: bool = False, urgent: bool = False
) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on error, DB errors translated.

    ``immediate``: on SQLite, a background writer's transaction that takes the write lock
    before its first read.  A transaction that reads, then writes, after another writer
    committed in between, cannot write on the snapshot it read and fails at once
    (SQLITE_BUSY_SNAPSHOT: waiting cannot help); one that reads for a while before writing,
    under a steady stream of other commits, needs this.  It first lets this process's urgent
    writers go (``turns``): SQLite's lock has no queue.  ``urgent``: the same for a writer
    someone waits for (an HL7 sender its ACK, a read its access record), which background
    writers let go first.  Both queue with the other processes' at the database file
    (``write_queue``).  On PostgreSQL neither changes anything."""
    engine: Engine = sessions.kw["bind"]
    if (immediate or urgent) and engine.dialect.name == "sqlite":
        with _sqlite_writer(engine, urgent), _translated(), sessions.begin() as session:
            session.connection().exec_driver_sql("BEGIN IMMEDIATE")
            yield session
        return
    with _translated(), sessions.begin() as session:
        yield session


@contextmanager
def _sqlite_writer(engine: Engine, urgent: bool) -> Iterator[None]:
    if urgent:
        with WRITE_TURNS.urgent(), write_turn(str(engine.url.database)):
            yield
        return
    WRITE_TURNS.after_urgent(YIELD_SECONDS)
    with write_turn(str(engine.url.database)):
        yield


@contextmanager
def reading(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """A unit of work that only reads: nothing is committed, no write lock is taken, and the
    database refuses a write in it (SQLite ``query_only``, a PostgreSQL ``READ ONLY``
    transaction), so a read path that starts writing fails loudly instead of queueing
    behind the one writer.  On SQLite its connections come from the database's read-only
    companion pool (:func:`_readers`), refusing writes from the moment they are opened."""
    engine: Engine = sessions.kw["bind"]
    if engine.dialect.name == "sqlite":
        with _translated(), _readers(engine)() as session:
            yield session
        return
    with _translated(), sessions() as session:
        session.connection().exec_driver_sql("SET TRANSACTION READ ONLY")
        yield session


_companions: dict[Engine, sessionmaker[Session]] = {}
_writers: dict[Engine, Engine] = {}  # companion -> the engine it reads for
_companions_lock = Lock()


def writable(engine: Engine) -> Engine:
    """The engine that may write to ``engine``'s database (a reading session's bind is the
    read-only companion on SQLite)."""
    return _writers.get(engine, engine)


def _readers(engine: Engine) -> sessionmaker[Session]:
    """The read-only sessions of an SQLite database: a second pool on the same file whose
    connections are ``query_only`` for good (a read then runs no statement of its own to
    switch it on and off).  Disposed with ``engine``."""
    with _companions_lock:
        readers = _companions.get(engine)
        if readers is None:
            companion = create_engine(
                engine.url,
                connect_args={"check_same_thread": False},
                pool_size=SQLITE_POOL_SIZE,
                max_overflow=SQLITE_POOL_SIZE,
                **_JSON,
            )
            event.listen(companion, "connect", _read_only_pragmas)
            event.listen(engine, "engine_disposed", lambda _: _drop_readers(engine))
            readers = _companions[engine] = session_factory(companion)
            _writers[companion] = engine
        return readers


def _drop_readers(engine: Engine) -> None:
    with _companions_lock:
        readers = _companions.pop(engine, None)
        if readers is not None:
            _writers.pop(readers.kw["bind"], None)
    if readers is not None:
        readers.kw["bind"].dispose()


def _read_only_pragmas(dbapi_conn: Any, record: Any) -> None:
    _sqlite_pragmas(dbapi_conn, record)
    dbapi_conn.execute("PRAGMA query_only=ON")


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (idempotent)."""
    try:
        command.upgrade(alembic_config(engine), "head")
    except OperationalError as exc:
        raise DatabaseUnavailable(f"cannot migrate database: {type(exc.orig).__name__}") from exc


def refresh_statistics(engine: Engine) -> None:
    """Let SQLite refresh the planner's statistics where they went stale (PostgreSQL's
    autovacuum does this by itself)."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA optimize")


# Rows collected by deferred_writes, per session.
_PENDING = "storage.pending_rows"


@contextmanager
def deferred_writes(session: Session) -> Iterator[None]:
    """Inside the block, rows given to :func:`add_rows` are collected and go to the database in
    one statement per table when the block ends, or as soon as anything else runs a statement
    in the session (so every read sees them).  A transaction Bundle of 500 creates is about ten
    statements instead of five thousand."""
    session.info[_PENDING] = {}
    try:
        yield
        write_pending(session)
    finally:
        session.info.pop(_PENDING, None)


def add_rows(session: Session, table: Any, rows: list[dict[str, Any]]) -> None:
    """Insert plain rows (Core, no ORM objects) into ``table`` (a model class or a Table), now
    or, inside :func:`deferred_writes`, with the others."""
    target = getattr(table, "__table__", table)
    pending = session.info.get(_PENDING)
    if pending is None:
        session.connection().execute(insert(target), rows)
    else:
        pending.setdefault(target, []).extend(rows)


def execute_plain(
    session: Session, statement: Executable, params: dict[str, Any] | None = None
) -> CursorResult[Any]:
    """A Core statement on the session's connection, without the ORM's work per statement
    (a read by key takes about half the time of ``session.execute``).  What the session holds
    unsent goes first, as ``session.execute`` would send it: the rows of
    :func:`deferred_writes` and ORM objects added or changed."""
    if session.info.get(_PENDING):
        write_pending(session)
    session.flush()  # nothing to do (and nothing spent) when the session is clean
    return session.connection().execute(statement, params)


def write_pending(session: Session) -> None:
    """Send the rows collected so far (a long :func:`deferred_writes` block does this now and
    then, so that the database works while its caller prepares the next rows)."""
    pending: dict[Any, list[dict[str, Any]]] = session.info.get(_PENDING) or {}
    connection = session.connection()  # a Connection: no session events, no recursion
    for table, rows in pending.items():
        _insert_many(connection, table, rows)
    pending.clear()


def _insert_many(connection: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """The rows in order, one executemany for each run of rows with the same columns.  On
    SQLite straight to the driver when the rows give every column that has a default:
    SQLAlchemy's own path costs about twice the driver's time per row, and a transaction
    Bundle writes thousands.  (On PostgreSQL SQLAlchemy batches the rows into multi-row
    INSERTs, which is what matters there.)"""
    for keys, run in groupby(rows, key=tuple):
        batch = list(run)
        plan = _plan(table, connection.dialect, keys)
        if plan is None:
            connection.execute(insert(table), batch)
            continue
        sql, get, processors = plan
        params = [get(row) for row in batch]
        if processors:
            for position, values in enumerate(params):
                changed = list(values)
                for column, process in processors:
                    changed[column] = process(changed[column])
                params[position] = tuple(changed)
        connection.exec_driver_sql(sql, params)


_Processors = list[tuple[int, Callable[[Any], Any]]]


@cache
def _plan(
    table: Table, dialect: Dialect, keys: tuple[str, ...]
) -> tuple[str, Callable[[dict[str, Any]], tuple[Any, ...]], _Processors] | None:
    """The INSERT for rows with ``keys``, how to take their values in its order and their
    bind processors (dates, JSON); None where the driver's way does not apply."""
    given = set(keys)
    defaulted = any(c.default is not None for c in table.columns if c.key not in given)
    if dialect.paramstyle != "qmark" or defaulted or len(keys) < 2:
        return None
    compiled = insert(table).compile(dialect=dialect, column_keys=list(keys))
    order = list(compiled.positiontup or ())
    processors = [
        (position, process)
        for position, key in enumerate(order)
        if (process := table.columns[key].type.bind_processor(dialect)) is not None
    ]
    return compiled.string, itemgetter(*order), processors


@event.listens_for(Session, "do_orm_execute")
def _before_statement(state: ORMExecuteState) -> None:
    if state.session.info.get(_PENDING):
        write_pending(state.session)


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    if session.info.get(_PENDING):
        write_pending(session)
