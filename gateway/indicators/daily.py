"""A large register's rows for a scope, read from copies of its days.

A year of lab orders is a million rows; read from their table and turned into columns that
took about 20 s.  Each whole local day of the scope is instead read once, for every
organization, and kept as its columns (``storage.clinical.register_days``: the copy carries the
versions of the days it was read at, and a write to a day makes its copy stale).  A scope's
rows are then its days' copies joined, rebuilt where stale, and filtered to the organizations
the requester sees.  Part days at a scope's edges are read from the table.

Figures are the same as from the table: the copies hold the same columns and values.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import numpy as np
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from gateway.indicators.model import Scope, Table
from storage.clinical import register_days
from storage.db import writable

log = logging.getLogger("yilian.indicators")
COPY_LOCK_WAIT_MS = 500  # SQLite: how long keeping copies waits for the writer's lock
# Every organization's rows ordered in [start, end), as columns.
Read = Callable[[Session, datetime, datetime], Table]
# Which of a table's rows the scope counts.
Kept = Callable[[Table], np.ndarray]


@dataclass(frozen=True, slots=True)
class Register:
    """A register kept by day: ``name`` as ``register_days`` versions it, ``layout`` naming
    what ``read`` returns (change it with the columns or their meaning: copies of another
    layout are not read)."""

    name: str
    layout: str
    read: Read


def rows_in(session: Session, register: Register, scope: Scope, kept: Kept) -> Table:
    """``register``'s rows in ``scope``: its whole days from their copies, the rest read."""
    read = register.read
    zone = scope.start.tzinfo
    days = _whole_days(scope.start, scope.end)
    if zone is None or not days:
        return _filtered(read(session, scope.start, scope.end), kept)
    bounds = {day: (_midnight(day, zone), _midnight(day + timedelta(days=1), zone)) for day in days}
    # The versions first, then the rows: a write committed in between makes a copy stale.
    versions = register_days.versions(
        session, register.name, register_days.utc_days(scope.start, scope.end)
    )
    key = f"{register.name}/{register.layout}"
    kept_copies = register_days.copies(session, key, str(zone), days[0], days[-1])
    parts, built = [], {}
    for day, (start, end) in bounds.items():
        version = sum(versions.get(d, 0) for d in register_days.utc_days(start, end))
        copy = kept_copies.get(day)
        if copy is not None and copy[0] == version:
            parts.append(decoded(copy[1]))
        else:
            parts.append(read(session, start, end))
            built[day] = (version, encoded(parts[-1]))
    if scope.start < bounds[days[0]][0]:
        parts.append(read(session, scope.start, bounds[days[0]][0]))
    if bounds[days[-1]][1] < scope.end:
        parts.append(read(session, bounds[days[-1]][1], scope.end))
    _keep(session, key, str(zone), built)
    return _filtered(joined(parts), kept)


def _whole_days(start: datetime, end: datetime) -> list[date]:
    """The local days (in ``start``'s zone) wholly inside ``[start, end)``."""
    zone = start.tzinfo
    if zone is None:
        return []
    day = start.date()
    if _midnight(day, zone) < start:
        day += timedelta(days=1)
    days = []
    while _midnight(day + timedelta(days=1), zone) <= end:
        days.append(day)
        day += timedelta(days=1)
    return days


def _midnight(day: date, zone: object) -> datetime:
    return datetime.combine(day, time(), zone)  # type: ignore[arg-type]


def _filtered(table: Table, kept: Kept) -> Table:
    return table.where(kept(table)) if len(table) else table


def _keep(session: Session, register: str, zone: str, built: dict[date, tuple[int, bytes]]) -> None:
    """Keep the rebuilt copies, in a transaction of their own (the scope's is read-only).  A
    copy not kept is rebuilt next time: the figures already counted stand."""
    if not built:
        return
    try:
        engine = writable(session.get_bind())
        with Session(engine) as writer, writer.begin(), _short_lock_wait(writer):
            register_days.keep(writer, register, zone, built)
    except SQLAlchemyError as exc:
        log.warning(
            "daily copies not kept", extra={"register": register, "error": type(exc).__name__}
        )


@contextmanager
def _short_lock_wait(session: Session) -> Iterator[None]:
    """On SQLite, a read that keeps copies waits at most a moment for another writer."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        yield
        return
    usual = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
    connection.exec_driver_sql(f"PRAGMA busy_timeout={COPY_LOCK_WAIT_MS}")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA busy_timeout={int(usual or 0)}")


def encoded(table: Table) -> bytes:
    """A table's columns as bytes: a JSON header (each array's name, dtype and length), then
    the arrays' bytes.  Text columns are kept as their distinct values and each row's code."""
    arrays: dict[str, np.ndarray] = {}
    for name, column in table.columns.items():
        if column.dtype.kind == "U":
            values, codes = np.unique(column, return_inverse=True)
            arrays[f"text:{name}:values"] = values
            arrays[f"text:{name}:codes"] = codes.astype(np.int32)
        else:
            arrays[f"array:{name}"] = column
    header = json.dumps([[key, a.dtype.str, len(a)] for key, a in arrays.items()]).encode()
    body = b"".join(np.ascontiguousarray(a).tobytes() for a in arrays.values())
    return len(header).to_bytes(4, "little") + header + body


def decoded(data: bytes) -> Table:
    size = int.from_bytes(data[:4], "little")
    offset = 4 + size
    arrays: dict[str, np.ndarray] = {}
    for key, dtype, count in json.loads(data[4:offset]):
        array = np.frombuffer(data, dtype=np.dtype(dtype), count=count, offset=offset)
        arrays[key] = array
        offset += array.nbytes
    columns: dict[str, np.ndarray] = {}
    for key, array in arrays.items():
        kind, name, *part = key.split(":")
        if kind == "array":
            columns[name] = array
        elif part == ["codes"]:
            columns[name] = arrays[f"text:{name}:values"][array]
    rows = len(next(iter(columns.values()))) if columns else 0
    return Table(columns, rows)


def joined(parts: list[Table]) -> Table:
    """The tables' rows one after the other (their columns are the same)."""
    names = next((list(p.columns) for p in parts if p.columns), [])
    filled = [p for p in parts if len(p)]
    if not filled:
        return parts[0] if parts else Table({}, 0)
    columns = {name: np.concatenate([p[name] for p in filled]) for name in names}
    return Table(columns, sum(len(p) for p in filled))
