"""The audit log's group commit, on SQLite and PostgreSQL: every read's record is committed
before the read is released, concurrent records share commits, a lone read off the event loop
commits its own, a read cannot write, and a record that cannot be committed fails the read
waiting on it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from storage.audit import AuditLog, Pending, audit
from storage.db import add_rows, reading, transaction
from storage.errors import AuditUnavailable, DatabaseUnavailable
from storage.models import AuditRecord

READERS = 24


def record(session: Session, who: str) -> None:
    audit(session, channel="test", actor=who, actor_org_id="jhzx", action="read", outcome="success")


def submit(log: AuditLog, who: str) -> Pending:
    return log.record(
        channel="test", actor=who, actor_org_id="jhzx", action="read", outcome="success"
    )


def recorded(sessions: sessionmaker[Session], who: str | None = None) -> int:
    with transaction(sessions) as session:
        query = select(func.count()).select_from(AuditRecord)
        if who is not None:
            query = query.where(AuditRecord.actor == who)
        return int(session.scalar(query) or 0)


def test_concurrent_reads_each_leave_one_record_committed_before_they_return(
    sessions: sessionmaker[Session],
):
    log = AuditLog(sessions, wait_seconds=60)
    start = threading.Barrier(READERS)
    seen_on_return: dict[int, int] = {}

    def reader(n: int) -> None:
        def work(session: Session) -> int:
            record(session, f"reader-{n}")
            return n

        start.wait()
        result, pending = log.read(work)
        pending.wait()
        seen_on_return[result] = recorded(sessions, f"reader-{n}")  # from another session

    threads = [threading.Thread(target=reader, args=(n,)) for n in range(READERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    log.close()
    assert seen_on_return == dict.fromkeys(range(READERS), 1)
    assert recorded(sessions) == READERS


@contextmanager
def write_lock_held(sessions: sessionmaker[Session]) -> Iterator[None]:
    """Another writer holds the database's (or the audit table's) write lock meanwhile."""
    with sessions() as session:
        connection = session.connection()
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.execute(text("LOCK TABLE audit_records IN EXCLUSIVE MODE"))
        try:
            yield
        finally:
            session.rollback()


@contextmanager
def commits_by_thread(sessions: sessionmaker[Session]) -> Iterator[list[str]]:
    """The names of the threads that commit on the database meanwhile, in order."""
    commits: list[str] = []
    engine = sessions.kw["bind"]
    listener = lambda _conn: commits.append(threading.current_thread().name)  # noqa: E731
    event.listen(engine, "commit", listener)
    try:
        yield commits
    finally:
        event.remove(engine, "commit", listener)


def test_records_queued_during_a_commit_share_the_next_one(sessions: sessionmaker[Session]):
    log = AuditLog(sessions, wait_seconds=60)
    leader = threading.Thread(target=lambda: submit(log, "first"), name="leader")
    with commits_by_thread(sessions) as commits:
        try:
            with write_lock_held(sessions):
                # Alone, the first commits its record itself, and waits for the lock meanwhile.
                leader.start()
                while not log._committing.locked():
                    leader.join(0.01)
                rest = [submit(log, f"next-{n}") for n in range(READERS)]  # these queue
            leader.join(60)
            for pending in rest:
                pending.wait()
        finally:
            log.close()
    assert recorded(sessions) == READERS + 1
    assert commits.count("leader") == 1
    assert 1 <= commits.count("audit-log") <= 2  # one commit for all that queued


def test_a_lone_read_commits_its_own_record_one_on_the_event_loop_hands_it_over(
    sessions: sessionmaker[Session],
):
    log = AuditLog(sessions, wait_seconds=60)

    async def read_on_the_loop() -> None:
        _, pending = log.read(lambda session: record(session, "on the loop"))
        await pending

    with commits_by_thread(sessions) as commits:
        try:
            _, pending = log.read(lambda session: record(session, "alone"))
            assert commits == [threading.current_thread().name]  # committed before it returned
            pending.wait()
            asyncio.run(read_on_the_loop())
        finally:
            log.close()
    assert commits[1:] == ["audit-log"]
    assert (recorded(sessions, "alone"), recorded(sessions, "on the loop")) == (1, 1)


def test_a_read_cannot_write(sessions: sessionmaker[Session]):
    row = {"channel": "test", "actor": "x", "action": "read", "outcome": "success"}
    with pytest.raises((DatabaseUnavailable, DBAPIError)), reading(sessions) as session:
        add_rows(session, AuditRecord, [row])
    with transaction(sessions) as session:  # the connection writes again outside a read
        add_rows(session, AuditRecord, [row])
    assert recorded(sessions) == 1


def test_a_record_that_cannot_be_committed_fails_its_read(sessions: sessionmaker[Session]):
    log = AuditLog(sessions, wait_seconds=60)
    with transaction(sessions) as session:
        session.execute(text("ALTER TABLE audit_records RENAME TO audit_records_away"))
    try:
        _, pending = log.read(lambda session: record(session, "refused"))
        with pytest.raises(AuditUnavailable):
            pending.wait()
    finally:
        with transaction(sessions) as session:
            session.execute(text("ALTER TABLE audit_records_away RENAME TO audit_records"))
    _, pending = log.read(lambda session: record(session, "accepted"))
    pending.wait()  # the writer goes on once the database takes records again
    log.close()
    assert (recorded(sessions, "refused"), recorded(sessions, "accepted")) == (0, 1)
    with pytest.raises(AuditUnavailable):
        submit(log, "late")  # after close
