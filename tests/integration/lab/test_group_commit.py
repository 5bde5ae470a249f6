"""Messages of concurrent connections committed together: an AA still means "stored" — even
when the server is killed right after it — and a message that trips a bug fails alone."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import closing
from pathlib import Path

import pytest
from hl7.client import MLLPClient

from lab_bridge import receive
from tests.integration.lab.conftest import POTASSIUM, SODIUM, Lab, oru
from tests.servers import free_port, wait_for_port

YILIAN = str(Path(sys.executable).with_name("yilian"))
CONNECTIONS = 8


def send_until_stopped(
    port: int, connection: int, stop: threading.Event, acknowledged: list[str]
) -> None:
    """One LIS connection sending results until ``stop``, noting each control id answered AA."""
    with MLLPClient("127.0.0.1", port) as client:
        for number in range(1000):
            if stop.is_set():
                return
            control_id = f"KILL-{connection}-{number}"
            message = oru(control_id, [SODIUM, POTASSIUM], filler=f"L-{connection}-{number}")
            try:
                answer = client.send_message(message.to_er7().encode())
            except OSError:
                return  # the server is gone
            if b"MSA|AA|" + control_id.encode() in answer:
                acknowledged.append(control_id)


def children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [int(line) for line in found.stdout.split()]


def test_every_acknowledged_message_survives_a_kill_9_and_no_worker_outlives_it(tmp_path: Path):
    port = free_port()
    data = tmp_path / "data"
    proc = subprocess.Popen(
        [YILIAN, "serve", "--demo", "--only", "mllp", "--data-dir", str(data), "--host",
         "127.0.0.1", "--mllp-port", str(port), "--log-level", "WARNING"],
        stdout=subprocess.DEVNULL, stderr=open(tmp_path / "yilian.log", "wb"),  # noqa: SIM115
        env={**os.environ, "YILIAN_HL7_PREPARE_PROCESSES": "2"},
    )  # fmt: skip
    try:
        wait_for_port(port, 120, proc)
        workers = children(proc.pid)
        assert len(workers) >= 2  # the processes that prepare messages
        acknowledged: list[str] = []
        stop = threading.Event()
        senders = [
            threading.Thread(target=send_until_stopped, args=(port, n, stop, acknowledged))
            for n in range(CONNECTIONS)
        ]
        for sender in senders:
            sender.start()
        deadline = time.monotonic() + 120
        while len(acknowledged) < 40 and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)  # mid-stream: other messages are being committed
        proc.wait(10)
        stop.set()
        for sender in senders:
            sender.join(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert len(acknowledged) >= 40, (tmp_path / "yilian.log").read_text()[-2000:]
    with closing(sqlite3.connect(data / "yilian.db")) as db:
        stored = dict(db.execute("SELECT control_id, state FROM hl7_messages").fetchall())
        results = {
            value.rsplit("/", 2)[0]
            for (value,) in db.execute(
                "SELECT code FROM fhir_index_token WHERE resource_type = 'Observation' "
                "AND param = 'identifier'"
            )
        }
        alerts = db.execute("SELECT count(*) FROM critical_alerts").fetchone()[0]
    # Every AA survived the kill, with its results (no AA for anything not on disk) ...
    assert all(stored.get(control_id) == "processed" for control_id in acknowledged)
    # ... and what the database holds is whole: each message with its two results and the
    # potassium's critical alert, none half-written.
    assert set(stored.values()) == {"processed"}
    fillers = {f"L-{c.split('-', 1)[1]}" for c in stored}
    assert results == fillers
    assert alerts == len(stored)
    deadline = time.monotonic() + 5
    while any(os.path.exists(f"/proc/{pid}") for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in workers if os.path.exists(f"/proc/{pid}")]


def test_a_message_that_trips_a_bug_fails_alone_and_leaves_nothing(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
):
    real = receive.raise_critical_results

    def broken_for_potassium(session: object, critical: list, *args: object) -> object:
        if critical:
            raise RuntimeError("a bug")
        return real(session, critical, *args)

    monkeypatch.setattr(receive, "raise_critical_results", broken_for_potassium)
    answers: dict[str, dict[str, list[str]]] = {}

    def send(number: int) -> None:
        result = POTASSIUM if number == 0 else SODIUM
        answers[f"GRP-{number}"] = lab.send(oru(f"GRP-{number}", [result], filler=f"L-{number}"))

    senders = [threading.Thread(target=send, args=(n,)) for n in range(CONNECTIONS)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join(60)
    assert answers["GRP-0"]["MSA"][1:4] == ["AE", "GRP-0", "internal error, send again later"]
    assert answers["GRP-0"]["ERR"][3].startswith("207^")
    assert all(answers[f"GRP-{n}"]["MSA"][1] == "AA" for n in range(1, CONNECTIONS))
    assert sorted(m.control_id for m in lab.messages()) == [
        f"GRP-{n}" for n in range(1, CONNECTIONS)
    ]
    assert lab.fhir("/Observation?_summary=count")["total"] == CONNECTIONS - 1
    archived = list(lab.platform.blobs.list("hl7/"))
    assert len(archived) == CONNECTIONS - 1  # the failed message's object was removed again
