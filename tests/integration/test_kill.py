"""``kill -9`` of ``yilian serve`` (or the OOM killer) leaves no process behind: its DICOM ingest
and FHIR validation workers end by themselves within a second or so; the metrics directory it
could not remove goes at the next start."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import httpx
import pytest

from gateway.cli import METRICS_DIR, METRICS_PREFIX, shared_metrics
from tests.integration.test_serve import start, wait_until_ready

PATIENT = {"resourceType": "Patient", "gender": "female", "birthDate": "1990-02-03"}


def descendants(pid: int) -> set[int]:
    """The processes below ``pid`` (from /proc), children of children included."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(fields[1])
    found: set[int] = set()
    pending = [pid]
    while pending:
        parent = pending.pop()
        children = {child for child, ppid in parents.items() if ppid == parent}
        found |= children
        pending += children
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has ended; only its parent's bookkeeping is left


def test_kill_9_of_serve_leaves_no_worker_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    env = {"YILIAN_DICOM_INGEST_PROCESSES": "2", "YILIAN_FHIR_VALIDATION_PROCESSES": "1",
           "TMPDIR": str(temporary)}  # fmt: skip
    running = start(tmp_path, env=env)
    try:
        wait_until_ready(running)
        base = f"http://127.0.0.1:{running.http}"
        token = httpx.post(
            f"{base}/auth/token", data={"grant_type": "client_credentials"},
            auth=("his-jhzx", "demo-secret-jhzx"),
        ).json()["access_token"]  # fmt: skip
        bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
            {"resource": PATIENT, "request": {"method": "POST", "url": "Patient"}}
            for _ in range(80)  # large enough to be validated by the worker processes too
        ]}  # fmt: skip
        answer = httpx.post(f"{base}/fhir", json=bundle, timeout=60,
                            headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        assert answer.status_code == 200, answer.text[:500]
        workers = descendants(running.proc.pid)
        assert len(workers) >= 3  # two ingest workers, one validation worker
    finally:
        running.proc.kill()
        running.proc.wait(30)
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in workers):
        assert time.monotonic() < deadline, [pid for pid in workers if alive(pid)]
        time.sleep(0.1)
    (left,) = temporary.glob(f"{METRICS_PREFIX}{running.proc.pid}-*")
    monkeypatch.delenv(METRICS_DIR, raising=False)
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))
    with shared_metrics():  # what the next `yilian serve` starts with
        assert not left.exists()
