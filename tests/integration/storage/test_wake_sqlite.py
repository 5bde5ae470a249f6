"""On SQLite, a transaction that enqueues outbox events in one process wakes the worker of
another (``storage.wake_datagrams``): ``yilian serve``'s further HTTP processes write orders
whose follow-up the worker of its first process runs."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from storage import open_platform, outbox, wake
from storage.settings import Settings

COMMIT_ELSEWHERE = """
import sys
from pathlib import Path
from storage import open_platform, outbox, transaction
from storage.settings import Settings
platform = open_platform(Settings(data_dir=Path(sys.argv[1])), run_migrations=False)
with transaction(platform.sessions) as session:
    outbox.enqueue(session, "test.wake", {})
platform.close()
"""


def test_an_event_committed_in_another_process_wakes_the_worker(tmp_path: Path):
    platform = open_platform(Settings(data_dir=tmp_path))
    url = platform.settings.effective_database_url
    stop = threading.Event()
    listening = wake.listen(url, stop)
    try:
        assert listening is not None
        # a second worker of the same database does not listen: the first is woken
        assert wake.listen(url, threading.Event()) is None
        outbox.work_committed.clear()
        repo = Path(__file__).resolve().parents[3]
        subprocess.run(
            [sys.executable, "-c", COMMIT_ELSEWHERE, str(tmp_path)], cwd=repo, check=True
        )
        assert outbox.work_committed.wait(10)
    finally:
        stop.set()
        if listening is not None:
            listening.join(5)
        platform.close()


def test_a_transaction_without_new_events_wakes_nobody(tmp_path: Path):
    platform = open_platform(Settings(data_dir=tmp_path))
    stop = threading.Event()
    listening = wake.listen(platform.settings.effective_database_url, stop)
    try:
        outbox.work_committed.clear()
        repo = Path(__file__).resolve().parents[3]
        script = COMMIT_ELSEWHERE.replace('outbox.enqueue(session, "test.wake", {})', "pass")
        subprocess.run([sys.executable, "-c", script, str(tmp_path)], cwd=repo, check=True)
        assert not outbox.work_committed.wait(1)
    finally:
        stop.set()
        if listening is not None:
            listening.join(5)
        platform.close()
