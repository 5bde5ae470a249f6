"""Senders that keep going through faults, as a modality, a HIS and a LIS do: each sends one
item after another, to the topology's two endpoints of its protocol in turn, and puts an item
that was refused — a DICOM failure status, an HTTP error, an HL7 AE or AR, a dropped
connection — back in its queue to send again.  New items stop when the load stops; the queue
is then emptied.  What each item was answered is counted."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from hl7.client import MLLPClient

from tests.dcmtk import dcmtk_path
from tests.integration.test_serve import Running, ack_fields, oru

PAUSE = 0.25  # seconds between two sends of one sender
DRAIN_SECONDS = 120  # after the load stops, time to get the refused items in
FAULT_SYSTEM = "https://yilian.example/fhir/sid/fault-test"


@dataclass
class Sender:
    name: str
    send: Callable[[int, int], bool]  # (item, endpoint) -> stored
    available: int  # items it can make
    began: float = field(default_factory=time.monotonic)
    stored: list[int] = field(default_factory=list)
    refused: list[float] = field(default_factory=list)  # seconds from the start, each refusal

    def run(self, load: threading.Event) -> None:
        queue: list[int] = []
        made = attempt = 0
        drain_until = None
        while True:
            if load.is_set() and made < self.available:
                queue.append(made)
                made += 1
            elif not queue:
                return
            elif drain_until is None:
                drain_until = time.monotonic() + DRAIN_SECONDS
            if drain_until is not None and time.monotonic() > drain_until:
                return
            item = queue.pop(0)
            try:
                stored = self.send(item, attempt % 2)
            except (OSError, httpx.HTTPError):
                stored = False
            attempt += 1
            if stored:
                self.stored.append(item)
            else:
                self.refused.append(round(time.monotonic() - self.began, 1))
                queue.append(item)
            time.sleep(PAUSE)


def modality(nodes: list[Running], files: list[Path]) -> Sender:
    def send(item: int, endpoint: int) -> bool:
        command = [dcmtk_path("storescu"), "-aet", "TX_CT1", "-aec", "YILIAN", "127.0.0.1"]
        pushed = subprocess.run(
            [*command, str(nodes[endpoint].dicom), str(files[item])],
            capture_output=True,
            timeout=60,
        )
        return pushed.returncode == 0

    return Sender("DICOM C-STORE", send, len(files))


def his(gateways: list[Running], tokens: list[str], available: int = 10_000) -> Sender:
    """A HIS registering patients under ids of its own (PUT: sent again, still one)."""

    def send(item: int, endpoint: int) -> bool:
        patient = {
            "resourceType": "Patient",
            "id": f"fault-{item}",
            "identifier": [{"system": FAULT_SYSTEM, "value": str(item)}],
            "name": [{"text": f"故障{item}"}],
        }
        answer = httpx.put(
            f"http://127.0.0.1:{gateways[endpoint].http}/fhir/Patient/fault-{item}",
            json=patient,
            headers={"Authorization": f"Bearer {tokens[endpoint]}"},
            timeout=30,
        )
        return answer.status_code in (200, 201)

    return Sender("FHIR update", send, available)


def lis(listeners: list[Running], available: int = 10_000) -> Sender:
    def send(item: int, endpoint: int) -> bool:
        raw = oru("LIS", "JHZX", f"FAULT-{item}").to_er7().encode("utf-8")
        with MLLPClient("127.0.0.1", listeners[endpoint].mllp) as client:
            return ack_fields(client.send_message(raw))["code"] == "AA"

    return Sender("HL7 ORU^R01", send, available)


def run_through(senders: list[Sender], faults: Callable[[], None]) -> None:
    """The senders start, ``faults()`` runs while they send, the load stops, their queues
    empty (or their time runs out)."""
    load = threading.Event()
    load.set()
    threads = [threading.Thread(target=s.run, args=(load,), name=s.name) for s in senders]
    for thread in threads:
        thread.start()
    try:
        faults()
    finally:
        load.clear()
        for thread in threads:
            thread.join(DRAIN_SECONDS + 60)


def summary(sender: Sender) -> str:
    refused = sender.refused
    during = f", from {refused[0]} s to {refused[-1]} s" if refused else ""
    return f"{sender.name}: {len(sender.stored)} stored, {len(refused)} refusals{during}"
