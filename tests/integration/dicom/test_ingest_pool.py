"""Ingest in worker processes (the default of `yilian serve`): the same answers as in-thread,
and a worker that dies costs one "out of resources" answer, never an instance."""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.dicom_data import Study, write_series
from tests.integration.dicom.conftest import RunningNode, start_node, stop_node
from tests.integration.dicom.test_outages import OUT_OF_RESOURCES, assert_all_stored, association
from tests.integration.dicom.test_store import send_file


@pytest.fixture
def pooled_node(tmp_path: Path, demo_sqlite: Path) -> Iterator[RunningNode]:
    shutil.copy(demo_sqlite, tmp_path / "yilian.db")
    node = start_node(
        tmp_path / "node",
        f"sqlite:///{tmp_path / 'yilian.db'}",
        (tmp_path / "objects").as_uri(),
        imported=True,
        ingest_processes=1,
    )
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


def test_pooled_ingest_answers_like_in_thread(pooled_node: RunningNode, tmp_path: Path) -> None:
    paths = write_series(Study(), tmp_path / "ct", 3)
    cut = tmp_path / "cut.dcm"
    cut.write_bytes(paths[2].read_bytes()[:-3000])
    with association(pooled_node.port) as store:
        assert [store(p) for p in paths[:2]] == [0, 0]
        assert store(paths[0]) == 0  # duplicate
    # The refusal (an exception in the worker) crosses the process boundary intact.
    assert send_file(pooled_node, cut).Status == 0xC000
    assert pooled_node.storescu(paths[2]).returncode == 0
    assert_all_stored(pooled_node, paths)


def test_a_killed_worker_costs_one_retry_not_an_instance(
    pooled_node: RunningNode, tmp_path: Path
) -> None:
    paths = write_series(Study(), tmp_path / "ct", 3)
    with association(pooled_node.port) as store:
        assert store(paths[0]) == 0
        [worker] = _workers()
        os.kill(worker, signal.SIGKILL)
        assert store(paths[1]) == OUT_OF_RESOURCES
        assert [store(p) for p in paths[1:]] == [0, 0]  # the pool came back
    assert_all_stored(pooled_node, paths)
