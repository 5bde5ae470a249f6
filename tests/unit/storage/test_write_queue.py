"""The write queue at an SQLite file: one holder at a time across threads and processes, a
transaction inside another in the same thread goes on, and the turn ends with the outer one."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

from storage.db.write_queue import write_turn

HOLD = 0.3


def test_threads_of_one_process_take_turns(tmp_path: Path):
    database = str(tmp_path / "yilian.db")
    inside, most = 0, 0
    guard = threading.Lock()

    def writer() -> None:
        nonlocal inside, most
        for _ in range(5):
            with write_turn(database):
                with guard:
                    inside += 1
                    most = max(most, inside)
                time.sleep(0.01)
                with guard:
                    inside -= 1

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most == 1


def test_a_nested_turn_goes_on_and_the_outer_one_holds_until_it_ends(tmp_path: Path):
    database = str(tmp_path / "yilian.db")
    taken_at: list[float] = []

    def other() -> None:
        with write_turn(database):
            taken_at.append(time.monotonic())

    with write_turn(database):
        with write_turn(database):  # would wait for itself if it queued again
            pass
        waiting = threading.Thread(target=other)
        waiting.start()
        time.sleep(HOLD)
        released = time.monotonic()
    waiting.join(5)
    assert taken_at
    assert taken_at[0] >= released


def test_another_process_waits_for_the_turn(tmp_path: Path):
    database = str(tmp_path / "yilian.db")
    holding = tmp_path / "holding"
    script = (
        "import sys, time, pathlib\n"
        "from storage.db.write_queue import write_turn\n"
        "with write_turn(sys.argv[1]):\n"
        "    pathlib.Path(sys.argv[2]).touch()\n"
        f"    time.sleep({HOLD})\n"
    )
    other = subprocess.Popen([sys.executable, "-c", script, database, str(holding)])
    try:
        deadline = time.monotonic() + 30
        while not holding.exists():
            assert time.monotonic() < deadline
            time.sleep(0.01)
        began = time.monotonic()
        with write_turn(database):
            waited = time.monotonic() - began
    finally:
        other.wait(30)
    assert waited > HOLD / 2
