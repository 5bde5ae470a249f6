"""Turns at the write lock: a background writer lets the urgent ones pending go first, for at
most its bound."""

from __future__ import annotations

import threading
import time

from storage.db.turns import Turns


def test_the_background_writer_waits_for_an_urgent_one_to_finish():
    turns = Turns()
    inside, leave = threading.Event(), threading.Event()
    finished_at: list[float] = []

    def urgent_writer() -> None:
        with turns.urgent():
            inside.set()
            leave.wait(5)
            finished_at.append(time.monotonic())

    writer = threading.Thread(target=urgent_writer)
    writer.start()
    inside.wait(5)
    threading.Timer(0.2, leave.set).start()
    turns.after_urgent(longest=5)
    went_on_at = time.monotonic()
    writer.join()
    assert finished_at
    assert went_on_at >= finished_at[0]


def test_the_background_writer_is_never_held_longer_than_its_bound():
    turns = Turns()
    with turns.urgent():
        began = time.monotonic()
        turns.after_urgent(longest=0.1)
        waited = time.monotonic() - began
    assert 0.09 <= waited < 2
    began = time.monotonic()
    turns.after_urgent(longest=5)  # nobody urgent: at once
    assert time.monotonic() - began < 0.5
