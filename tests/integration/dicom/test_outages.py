"""Nothing is lost when the parts behind the node fail: the object store stops mid-push, the
database is locked or down, the node itself is killed with SIGKILL in the middle of a push.
Every instance answered with Success is retrievable afterwards; the rest got a failure status,
so the modality kept them and a retry stores them."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pydicom
import pytest
from pynetdicom import AE
from pynetdicom.sop_class import CTImageStorage
from sqlalchemy import func, select

from storage import transaction
from storage.blobs import FileBlobStore, sweep_orphans
from storage.db import create_db_engine, session_factory
from storage.models import DicomInstance, StoredObject
from tests.dcmtk import dcmtk_path
from tests.dicom_data import Study, data_set_bytes, write_series
from tests.integration.dicom.conftest import (
    CLINIC_AE,
    NODE_AE,
    RunningNode,
    start_demo_node,
    start_node,
    stop_node,
)
from tests.integration.test_serve import start
from tests.servers import PostgresServer, SeaweedS3, stop_process, wait_for_port

OUT_OF_RESOURCES = 0xA700


@contextmanager
def association(node_port: int) -> Iterator:
    ae = AE(CLINIC_AE)
    ae.add_requested_context(CTImageStorage)
    assoc = ae.associate("127.0.0.1", node_port, ae_title=NODE_AE)
    assert assoc.is_established
    try:
        # The data set, not the path: in a process running the node, pynetdicom sends a path
        # as stored, on a context of exactly its transfer syntax (``dicom_node.instances``).
        yield lambda path: assoc.send_c_store(pydicom.dcmread(path)).Status
    finally:
        assoc.release()


def assert_all_stored(node: RunningNode, paths: list[Path]) -> None:
    """Each instance is indexed, its object holds exactly what was sent, and the object store
    holds nothing else (no orphan, no half-written object)."""
    with transaction(node.platform.sessions) as session:
        rows = {r.sop_instance_uid: r for r in session.scalars(select(DicomInstance))}
        objects = session.scalar(select(func.count()).select_from(StoredObject))
    assert set(rows) == {str(pydicom.dcmread(p).SOPInstanceUID) for p in paths}
    for path in paths:
        row = rows[str(pydicom.dcmread(path).SOPInstanceUID)]
        stored = b"".join(node.platform.blobs.get(row.object_key))
        assert pydicom.dcmread(pydicom.filebase.DicomBytesIO(stored)).PixelData == (
            pydicom.dcmread(path).PixelData
        )
    assert objects == len(paths)
    assert len(list(node.platform.blobs.list("dicom/"))) == len(paths)


@pytest.fixture
def own_seaweed() -> Iterator[SeaweedS3]:
    """A SeaweedFS of its own: this test stops it."""
    with SeaweedS3() as server:
        yield server


@pytest.mark.slow
def test_object_store_stopped_mid_push(
    own_seaweed: SeaweedS3, demo_sqlite: Path, tmp_path: Path
) -> None:
    node = start_demo_node(tmp_path, demo_sqlite, own_seaweed.url("outage"))
    try:
        paths = write_series(Study(), tmp_path / "ct", 10)
        with association(node.port) as store:
            assert [store(p) for p in paths[:4]] == [0] * 4
            own_seaweed.stop()
            assert [store(p) for p in paths[4:]] == [OUT_OF_RESOURCES] * 6
        own_seaweed.start()
        with association(node.port) as store:  # the modality retries what failed
            assert [store(p) for p in paths[4:]] == [0] * 6
        assert_all_stored(node, paths)
    finally:
        stop_node(node)


def test_database_locked_longer_than_the_wait(
    demo_sqlite: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another writer holds SQLite's lock: the node waits (1 s here), then answers 0xA700 and
    removes the object it had written; once the lock is gone the retry is stored."""
    monkeypatch.setenv("YILIAN_DATABASE_LOCK_WAIT_SECONDS", "1")
    node = start_demo_node(tmp_path, demo_sqlite)
    db = tmp_path / "yilian.db"
    try:
        paths = write_series(Study(), tmp_path / "ct", 4)
        with association(node.port) as store:
            assert [store(p) for p in paths[:2]] == [0, 0]
            locker = sqlite3.connect(db)
            locker.execute("BEGIN EXCLUSIVE")
            try:
                assert [store(p) for p in paths[2:]] == [OUT_OF_RESOURCES] * 2
                assert len(list(node.platform.blobs.list("dicom/"))) == 2
            finally:
                locker.rollback()
                locker.close()
            assert [store(p) for p in paths[2:]] == [0, 0]
        assert_all_stored(node, paths)
    finally:
        stop_node(node)


@pytest.mark.slow
def test_postgresql_down_mid_push(tmp_path: Path) -> None:
    server = PostgresServer()
    server.start()
    node = start_node(tmp_path, server.url, (tmp_path / "objects").as_uri())
    try:
        paths = write_series(Study(), tmp_path / "ct", 6)
        with association(node.port) as store:
            assert [store(p) for p in paths[:2]] == [0, 0]
            server.stop()
            assert [store(p) for p in paths[2:4]] == [OUT_OF_RESOURCES] * 2
            assert len(list(node.platform.blobs.list("dicom/"))) == 2
            server.start()
            assert [store(p) for p in paths[2:]] == [0] * 4
        assert_all_stored(node, paths)
    finally:
        stop_node(node)
        server.close()


@pytest.mark.slow
def test_node_killed_during_a_500_instance_push(tmp_path: Path) -> None:
    paths = write_series(Study(), tmp_path / "ct", 500, rows=128, columns=128)
    running = start(tmp_path, "--only", "dicom")
    wait_for_port(running.dicom, 60, running.proc)
    push = subprocess.Popen(
        [dcmtk_path("storescu"), "-v", "-aet", CLINIC_AE, "-aec", NODE_AE]
        + ["127.0.0.1", str(running.dicom)]
        + [str(p) for p in paths],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    db = running.data_dir / "yilian.db"
    deadline = time.monotonic() + 120
    while (indexed := _indexed(db)) < 100:  # well into the push
        assert time.monotonic() < deadline
        assert push.poll() is None
        time.sleep(0.05)
    running.proc.send_signal(signal.SIGKILL)
    running.proc.wait(10)
    output, _ = push.communicate(timeout=60)
    acknowledged = output.count("Received Store Response (Success)")
    # storescu sends one at a time: the last instance seen indexed may have died
    # before its response went out, every earlier one was answered.
    assert indexed - 1 <= acknowledged < 500

    # storescu sends in order: every file it got Success for is there, byte for byte.
    engine = create_db_engine(f"sqlite:///{db}")
    sessions = session_factory(engine)
    blobs = FileBlobStore(running.data_dir / "objects")
    with transaction(sessions) as session:
        rows = {r.sop_instance_uid: r for r in session.scalars(select(DicomInstance))}
        recorded = set(session.scalars(select(StoredObject.key)))
    for path in paths[:acknowledged]:
        row = rows[str(pydicom.dcmread(path).SOPInstanceUID)]
        assert data_set_bytes(b"".join(blobs.get(row.object_key))) == data_set_bytes(
            path.read_bytes()
        )
    # No row points at a missing object; an object the crash left without a row is swept.
    assert all(blobs.exists(key) for key in recorded)
    swept = sweep_orphans(sessions, blobs, prefix="dicom/", older_than=timedelta(0))
    blobs.sweep_incoming(older_than_seconds=0)
    assert set(blobs.list("dicom/")) == {r.object_key for r in rows.values()}
    assert swept <= 1  # at most the one instance in flight
    engine.dispose()

    # After a restart the modality sends everything again: all 500 are there.
    again = start(tmp_path, "--only", "dicom")  # same data directory
    try:
        wait_for_port(again.dicom, 60, again.proc)
        result = subprocess.run(
            [dcmtk_path("storescu"), "-aet", CLINIC_AE, "-aec", NODE_AE]
            + ["127.0.0.1", str(again.dicom)]
            + [str(p) for p in paths],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, result.stderr
        assert _indexed(db) == 500
    finally:
        again.proc.send_signal(signal.SIGTERM)
        assert again.proc.wait(60) == 0
        stop_process(again.proc)


def _indexed(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return conn.execute("SELECT count(*) FROM dicom_instances").fetchone()[0]
    except sqlite3.OperationalError:
        return 0  # not migrated yet
