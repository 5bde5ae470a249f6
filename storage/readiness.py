"""Which services of this process are up, for ``/health``.

The runner names the services it starts (each ``starting``); a service marks itself ``up`` once
it takes work: its listener bound and accepting, its loop running.  Per process on purpose: it
says whether *this* process is ready, which is what a readiness probe asks.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Literal

ServiceState = Literal["starting", "up"]


class Readiness:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._states: dict[str, ServiceState] = {}

    def expect(self, services: Iterable[str]) -> None:
        """Services about to start: ``starting`` until they mark themselves up."""
        with self._lock:
            for service in services:
                self._states.setdefault(service, "starting")

    def up(self, service: str) -> None:
        with self._lock:
            self._states[service] = "up"

    def all_up(self) -> bool:
        with self._lock:
            return bool(self._states) and all(s == "up" for s in self._states.values())

    def states(self) -> dict[str, ServiceState]:
        """Each service and its state, in the order they were named."""
        with self._lock:
            return dict(self._states)
