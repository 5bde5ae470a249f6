"""Ingest in worker processes (the default of `yilian serve` under concurrent pushes): the same
answers as in-thread, and a worker that dies costs one "try again", never an instance."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pydicom
import pytest

from storage.dicom import InvalidInstance, Sender
from storage.dicom.ingest import Outcome
from storage.errors import StoreUnavailable
from tests.dcmtk import dcmtk_path
from tests.dicom_data import Study, write_series
from tests.integration.dicom.conftest import RunningNode, start_demo_node, stop_node
from tests.integration.dicom.test_outages import assert_all_stored


@pytest.fixture
def pooled_node(tmp_path: Path, demo_sqlite: Path) -> Iterator[RunningNode]:
    node = start_demo_node(tmp_path, demo_sqlite, ingest_processes=1)
    yield node
    stop_node(node)


def _workers() -> list[int]:
    """Our spawned worker processes (multiprocessing's spawn_main children)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat[1]) == os.getpid() and b"spawn_main" in cmdline:
            found.append(int(entry.name))
    return found


SENDER = Sender("tx-wsy", "TX_CT1")


def _uid(path: Path) -> str:
    return str(pydicom.dcmread(path).SOPInstanceUID)


def test_pool_answers_like_in_thread(pooled_node: RunningNode, tmp_path: Path) -> None:
    assert pooled_node.pool is not None
    [path] = write_series(Study(), tmp_path / "ct", 1)
    cut = tmp_path / "cut.dcm"
    cut.write_bytes(path.read_bytes()[:-3000])
    assert pooled_node.pool.ingest(path, SENDER, _uid(path)).outcome is Outcome.STORED
    assert pooled_node.pool.ingest(path, SENDER, _uid(path)).outcome is Outcome.DUPLICATE
    # The refusal (an exception in the worker) crosses the process boundary intact.
    with pytest.raises(InvalidInstance) as refused:
        pooled_node.pool.ingest(cut, SENDER, None)
    assert refused.value.undecodable
    assert_all_stored(pooled_node, [path])


def test_a_killed_worker_costs_one_retry_not_an_instance(
    pooled_node: RunningNode, tmp_path: Path
) -> None:
    assert pooled_node.pool is not None
    paths = write_series(Study(), tmp_path / "ct", 2)
    pooled_node.pool.ingest(paths[0], SENDER, _uid(paths[0]))
    [worker] = _workers()
    os.kill(worker, signal.SIGKILL)
    with pytest.raises(StoreUnavailable):
        pooled_node.pool.ingest(paths[1], SENDER, _uid(paths[1]))
    assert pooled_node.pool.ingest(paths[1], SENDER, _uid(paths[1])).outcome is Outcome.STORED
    assert_all_stored(pooled_node, paths)


def test_concurrent_pushes_are_all_stored(pooled_node: RunningNode, tmp_path: Path) -> None:
    """Three modalities at once: instances arriving while another is being ingested go to
    the worker process."""
    series = [write_series(Study(), tmp_path / f"s{i}", 15) for i in range(3)]
    pushes = [
        subprocess.Popen(
            [dcmtk_path("storescu"), "-aet", "TX_CT1", "-aec", "YILIAN"]
            + ["127.0.0.1", str(pooled_node.port)]
            + [str(p) for p in paths],
            stderr=subprocess.PIPE,
        )
        for paths in series
    ]
    assert [push.wait(120) for push in pushes] == [0, 0, 0]
    assert_all_stored(pooled_node, [p for paths in series for p in paths])
