"""The metrics directory of a `yilian serve` that was killed is removed by the next start."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from gateway.cli import METRICS_PREFIX, sweep_metrics


def test_only_the_directories_of_processes_that_are_gone_are_removed(tmp_path: Path):
    ended = subprocess.Popen(["true"])
    ended.wait()
    killed = tmp_path / f"{METRICS_PREFIX}{ended.pid}-k2x9"
    running = tmp_path / f"{METRICS_PREFIX}{os.getpid()}-a7q1"
    unknown_owner = tmp_path / f"{METRICS_PREFIX}0u9w872y"  # no pid in its name
    other = tmp_path / f"other-{ended.pid}-k2x9"
    for directory in (killed, running, unknown_owner, other):
        directory.mkdir()
        (directory / f"counter_{ended.pid}.db").write_bytes(b"\0" * 16)

    sweep_metrics(tmp_path)

    assert not killed.exists()
    assert (running / f"counter_{ended.pid}.db").exists()
    assert unknown_owner.exists()
    assert other.exists()
