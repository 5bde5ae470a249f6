"""``yilian serve`` answers HTTP from more than one process on one port: both listen, a token
from either is honoured, ``/metrics`` sums them, and they stop (or die) together."""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

import httpx

from tests.integration.test_kill import alive, descendants
from tests.integration.test_serve import Running, start, wait_until_ready

TWO = {"YILIAN_HTTP_PROCESSES": "2"}


def listening_on(port: int, pids: set[int]) -> set[int]:
    """Those of ``pids`` holding a socket that listens on TCP ``port`` (from /proc)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, state, inode = fields[1], fields[3], fields[9]
        if state == "0A" and int(local.split(":")[1], 16) == port:  # 0A: LISTEN
            inodes.add(f"socket:[{inode}]")
    holding = set()
    for pid in pids:
        try:
            links = {os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()}
        except OSError:
            continue
        if links & inodes:
            holding.add(pid)
    return holding


def health_answered(text: str) -> float:
    found = re.search(
        r'yilian_http_requests_total\{method="GET",route="/health",status="200"\} ([\d.]+)', text
    )
    return float(found.group(1)) if found else 0.0


def stopped_with_nothing_left(running: Running, pids: set[int]) -> int:
    code = running.proc.wait(60)
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in pids):
        assert time.monotonic() < deadline, [pid for pid in pids if alive(pid)]
        time.sleep(0.1)
    return code


def started(tmp_path: Path) -> tuple[Running, set[int]]:
    """``yilian serve`` with two HTTP processes, ready; and the processes below it."""
    running = start(tmp_path, env=TWO)
    try:
        wait_until_ready(running)
    except BaseException:
        running.proc.kill()
        raise
    return running, descendants(running.proc.pid)


def test_two_processes_answer_on_one_port_and_stop_together(tmp_path: Path):
    running, pids = started(tmp_path)
    try:
        serving = listening_on(running.http, pids | {running.proc.pid})
        assert running.proc.pid in serving
        assert len(serving) == 2, serving

        base = f"http://127.0.0.1:{running.http}"
        token = httpx.post(
            f"{base}/auth/token", data={"grant_type": "client_credentials"},
            auth=("his-jhzx", "demo-secret-jhzx"),
        ).json()["access_token"]  # fmt: skip
        before = health_answered(httpx.get(f"{base}/metrics").text)
        for _ in range(40):  # a new connection each: the kernel spreads them over both
            assert httpx.get(f"{base}/health").status_code == 200
            answer = httpx.get(
                f"{base}/fhir/Organization/jhzx", headers={"Authorization": f"Bearer {token}"}
            )
            assert answer.status_code == 200, answer.text
        # Each process counts what it answered; /metrics gives the sum whichever answers it.
        assert health_answered(httpx.get(f"{base}/metrics").text) - before >= 40
    finally:
        running.proc.send_signal(signal.SIGTERM)
    assert stopped_with_nothing_left(running, pids) == 0


def test_a_helper_that_dies_ends_serve(tmp_path: Path):
    running, pids = started(tmp_path)
    try:
        (helper,) = listening_on(running.http, pids)
        os.kill(helper, signal.SIGKILL)
        assert stopped_with_nothing_left(running, pids) != 0
    finally:
        if running.proc.poll() is None:
            running.proc.kill()
    assert "yilian-http-2 ended" in running.log.read_text()
