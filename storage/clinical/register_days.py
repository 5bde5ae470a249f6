"""Versions of the large clinical registers' days, and their days kept as columns.

A transaction that adds, changes or deletes a lab order's clocks (``LabTurnaround``) or a
reading Task's (``ReadingMilestones``) bumps, as it commits, the version of the UTC day of
each such row's order time (before and after the change, the rows read again at commit: a
session may hold a row another writer has moved since).  A reader that copies a day of
rows reads the versions first and keeps the copy with them; the copy is current while the
versions are the same.  A writer that commits after the versions were read has bumped one, so
a copy can only be found stale, never taken for current when it is not (under PostgreSQL's
READ COMMITTED as under SQLite's snapshot).

What the copy holds is the reader's business (``gateway.indicators.daily``); here it is bytes.
Writes that bypass the ORM (a bulk load straight into the tables) bump nothing: load before
the first copy is made.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import event, inspect, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, attributes

from storage.models import DailyColumns, LabTurnaround, ReadingMilestones, RegisterDayVersion

LAB, READING = "lab", "reading"
REGISTERS: dict[type, str] = {LabTurnaround: LAB, ReadingMilestones: READING}
# session.info: the rows written in this transaction by model, and the (register, UTC day)
# pairs their order times had as this session knew them; bumped at commit.
_TOUCHED, _DAYS = "register_days.touched", "register_days.days"


def utc_days(start: datetime, end: datetime) -> list[date]:
    """The UTC days that ``[start, end)`` overlaps."""
    first, last = start.astimezone(UTC).date(), (end - timedelta(microseconds=1)).astimezone(UTC)
    return [first + timedelta(days=n) for n in range((last.date() - first).days + 1)]


def versions(session: Session, register: str, days: Iterable[date]) -> dict[date, int]:
    """The versions of ``register``'s UTC ``days`` (0 for a day never written through)."""
    wanted = sorted(set(days))
    if not wanted:
        return {}
    found = session.execute(
        select(RegisterDayVersion.day, RegisterDayVersion.version).where(
            RegisterDayVersion.register == register,
            RegisterDayVersion.day >= wanted[0],
            RegisterDayVersion.day <= wanted[-1],
        )
    ).all()
    known = {day: version for day, version in found}
    return {day: known.get(day, 0) for day in wanted}


def copies(
    session: Session, register: str, zone: str, first: date, last: date
) -> dict[date, tuple[int, bytes]]:
    """The kept copies of ``register``'s local days ``first``..``last``: version and bytes."""
    found = session.execute(
        select(DailyColumns.day, DailyColumns.version, DailyColumns.columns).where(
            DailyColumns.register == register,
            DailyColumns.zone == zone,
            DailyColumns.day >= first,
            DailyColumns.day <= last,
        )
    ).all()
    return {day: (version, bytes(columns)) for day, version, columns in found}


def keep(session: Session, register: str, zone: str, built: dict[date, tuple[int, bytes]]) -> None:
    """Keep (or replace) copies of local days with the versions they were built at."""
    if not built:
        return
    now = datetime.now(UTC)
    rows = [
        {"register": register, "zone": zone, "day": day, "version": version,
         "columns": columns, "built_at": now}
        for day, (version, columns) in built.items()
    ]  # fmt: skip
    statement = _insert(session).insert(DailyColumns.__table__)
    statement = statement.on_conflict_do_update(
        index_elements=["register", "zone", "day"],
        set_={name: statement.excluded[name] for name in ("version", "columns", "built_at")},
        where=DailyColumns.version <= statement.excluded.version,  # never back to an older one
    )
    session.connection().execute(statement, rows)


def _insert(session: Session) -> Any:
    """The dialect's INSERT with ON CONFLICT (SQLite and PostgreSQL spell it alike)."""
    return postgresql if session.get_bind().dialect.name == "postgresql" else sqlite


def _order_days(row: Any) -> set[date]:
    """The UTC days of ``row``'s order time now and before this flush's change, as this
    session knows them (the rows are read again at commit: another writer may have moved
    them since this session loaded them)."""
    history = attributes.get_history(row, "ordered_at")
    moments = [*history.added, *history.unchanged, *history.deleted]
    return {moment.astimezone(UTC).date() for moment in moments if moment is not None}


@event.listens_for(Session, "after_flush")
def _touched(session: Session, _context: Any) -> None:
    touched: dict[type, set[Any]] = session.info.setdefault(_TOUCHED, {})
    for row in (*session.new, *session.dirty, *session.deleted):
        if type(row) in REGISTERS:
            key = inspect(type(row)).primary_key[0].key
            touched.setdefault(type(row), set()).add(getattr(row, key))
            days: set[date] = session.info.setdefault(_DAYS, set())
            days.update((REGISTERS[type(row)], day) for day in _order_days(row))


@event.listens_for(Session, "before_commit")
def _bump(session: Session) -> None:
    """At the outermost commit, in one statement in a fixed order: a day's row is locked
    only from here to the commit, and two writers never take two days' in opposite orders."""
    if session.in_nested_transaction():
        return
    session.flush()  # what the commit would flush is touched too
    touched: dict[type, set[Any]] = session.info.pop(_TOUCHED, None) or {}
    days: set[tuple[str, date]] = session.info.pop(_DAYS, None) or set()
    for model, keys in touched.items():
        days |= {(REGISTERS[model], day) for day in _committed_days(session, model, keys)}
    if not days:
        return
    table = RegisterDayVersion.__table__
    statement = _insert(session).insert(table)
    statement = statement.on_conflict_do_update(
        index_elements=["register", "day"], set_={"version": table.c.version + 1}
    )
    rows = [{"register": r, "day": d, "version": 1} for r, d in sorted(days)]
    session.connection().execute(statement, rows)


def _committed_days(session: Session, model: Any, keys: set[Any]) -> set[date]:
    """The UTC days of the rows' order times as this transaction now reads them (after its
    own writes; on PostgreSQL also after what others committed since it loaded the rows)."""
    key = inspect(model).primary_key[0]
    found: set[date] = set()
    ordered = list(keys)
    for start in range(0, len(ordered), 500):
        chunk = ordered[start : start + 500]
        moments = session.scalars(select(model.ordered_at).where(key.in_(chunk)))
        found |= {moment.astimezone(UTC).date() for moment in moments if moment is not None}
    return found


@event.listens_for(Session, "after_transaction_end")
def _forget_touched(session: Session, transaction: Any) -> None:
    if transaction.parent is None:  # a savepoint's rows rolled back cost one bump too many
        session.info.pop(_TOUCHED, None)
        session.info.pop(_DAYS, None)
