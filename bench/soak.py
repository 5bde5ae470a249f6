"""Soak: modalities, HIS clients and LIS senders together for minutes, with Locust.

20 modalities push CT images one at a time (DCMTK ``storescu``, as the demo's modality AE
titles), 50 HIS clients read and search (FHIR read and search, QIDO-RS, WADO-RS metadata and
frames, each with its organization's token) and 5 LIS senders send ORU^R01 over MLLP, each
waiting a few seconds between requests, against:

- ``default``: ``yilian serve --demo`` as ``make run`` starts it (one process, SQLite and the
  filesystem);
- ``production``: PostgreSQL and SeaweedFS S3, two gateways, two DICOM nodes, two MLLP
  listeners and two workers as separate ``yilian serve --only …`` processes (users spread over
  both endpoints of their protocol).

Printed: per request kind the count, failures, p50 and p95; per serving process (with its worker
processes) the RSS and open file descriptors after the warm-up (the first fifth) and at the end.
Exit status 1 when any request failed.  ``--json`` writes the figures (the test suite runs a
short soak and checks them: ``tests/integration/test_soak.py``).

    .venv/bin/python bench/soak.py [--topology default|production] [--minutes 10]
        [--modalities 20] [--his 50] [--lis 5] [--json figures.json]

Measured on the 2-core reference machine, 2026-12-03, 10 minutes, 20 / 50 / 5 users, the load
tool on the same two cores, after the node's association limit was raised from pynetdicom's 10
to 64 (``YILIAN_DICOM_MAX_ASSOCIATIONS``; before it, 639 pushes on the default and 12 on the
production topology were rejected "Local Limit Exceeded"):

    default (one process)      count  failed   p50 ms   p95 ms
    DICOM C-STORE (storescu)    1965       0     2700     4700
    FHIR read                   2745       0      670     4000
    FHIR search                 1801       0      810     4000
    QIDO-RS studies             1826       0      690     4200
    WADO-RS frame               1855       0      640     3800
    WADO-RS metadata             894       0      770     3900
    HL7 ORU^R01                  847       0     1000     4200
    RSS (with its workers) 976 -> 1004 MB from the warm-up to the end; descriptors 247 -> 219.

The two cores were saturated (Locust, 20 storescu processes and the server share them), which
is what the p95 of seconds measures; nothing failed.

    production (8 processes)   count  failed   p50 ms   p95 ms
    DICOM C-STORE (storescu)    2907       0      400     1900
    FHIR read                   4327       0       21      130
    FHIR search                 2895       0       29      160
    QIDO-RS studies             2902       0       25      150
    WADO-RS frame               2961       0       28      140
    WADO-RS metadata            1498       0       27      150
    HL7 ORU^R01                 1391       0      110      410
    RSS from the warm-up to the end: gateways 270 -> 271 and 264 -> 265 MB, DICOM nodes
    535 -> 535 and 540 -> 538, MLLP 515 -> 515 and 494 -> 494, workers 371 -> 375 and
    371 -> 375 (each with its worker processes); descriptors flat (15-60 each).

The rejected pushes had also cost the rest: each was retried at once, and with them refused
the production topology's reads had p95 ~550 ms.
"""

from __future__ import annotations

# isort: off
import locust  # noqa: F401 (first: it patches the standard library for gevent)

# isort: on

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import gevent
import httpx
from hl7.client import MLLPClient
from locust import HttpUser, User, between, task
from locust.env import Environment

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.conftest import new_postgres_database  # noqa: E402
from tests.dcmtk import dcmtk_path  # noqa: E402
from tests.dicom_data import Patient, Study, write_series  # noqa: E402
from tests.integration.test_serve import Running, ack_fields, oru, start  # noqa: E402
from tests.integration.test_topology import ready  # noqa: E402
from tests.servers import PostgresServer, SeaweedS3  # noqa: E402

# The demo's modalities (AE title, organization): a soak's modality is one of them.
MODALITIES = [("TX_CT1", "tx-wsy"), ("WCRM_CT1", "wcrm"), ("WCDY_DR1", "wcdy"),
              ("CDSQ_DR1", "cd-sq"), ("BLQ_DR1", "blq-wsy"), ("JHZX_CT1", "jhzx"),
              ("CZSQ_US1", "cz-sq")]  # fmt: skip
PRODUCTION = ("http", "http", "dicom", "dicom", "mllp", "mllp", "worker", "worker")
BATCH = 10  # instances a modality writes at a time, then sends one by one
FRAME = 'multipart/related; type="application/octet-stream"; transfer-syntax=*'


@dataclass
class Target:
    processes: dict[str, Running]
    work: Path
    seeded: dict[str, dict[str, str]] = field(default_factory=dict)  # org -> ids to read
    tokens: dict[str, str] = field(default_factory=dict)

    def of(self, service: str) -> list[Running]:
        return [r for name, r in self.processes.items() if name.split("-")[0] in (service, "all")]


TARGET: Target  # set before the users start
_numbers = itertools.count()


@contextmanager
def default_topology(work: Path) -> Iterator[dict[str, Running]]:
    (work / "all").mkdir()
    running = start(work / "all", env={"YILIAN_STUDY_STABLE_SECONDS": "5"})
    try:
        ready("http", running)
        yield {"all": running}
    finally:
        running.proc.terminate()
        running.proc.wait(60)


@contextmanager
def production_topology(work: Path) -> Iterator[dict[str, Running]]:
    with ExitStack() as stack:
        postgres = PostgresServer()
        postgres.start()
        stack.callback(postgres.close)
        seaweed = stack.enter_context(SeaweedS3())
        env = {
            "YILIAN_DATABASE_URL": new_postgres_database(postgres.url),
            "YILIAN_OBJECT_STORE_URL": seaweed.url("soak"),
            "YILIAN_STUDY_STABLE_SECONDS": "5",
        }
        running: dict[str, Running] = {}
        for n, service in enumerate(PRODUCTION):
            (work / f"{service}-{n}").mkdir()
            process = start(work / f"{service}-{n}", "--only", service, env=env)
            running[f"{service}-{n}"] = process
            stack.callback(lambda p=process: (p.proc.terminate(), p.proc.wait(60)))
            ready(service, process)  # the first gateway migrates and loads the demo
        yield running


def seed(target: Target) -> None:
    """For each organization: a token, a patient and a study of its modality to read."""
    gateway = target.of("http")[0]
    base = f"http://127.0.0.1:{gateway.http}"
    node = target.of("dicom")[0]
    for ae, org in MODALITIES:
        answer = httpx.post(f"{base}/auth/token", data={"grant_type": "client_credentials"},
                            auth=(f"his-{org}", f"demo-secret-{org}"))  # fmt: skip
        answer.raise_for_status()
        token = answer.json()["access_token"]
        target.tokens[org] = token
        headers = {"Authorization": f"Bearer {token}"}
        patient = {"resourceType": "Patient", "id": f"soak-{org}", "name": [{"text": "浸泡"}],
                   "identifier": [{"system": "urn:soak", "value": org}]}  # fmt: skip
        httpx.put(
            f"{base}/fhir/Patient/soak-{org}", json=patient, headers=headers
        ).raise_for_status()
        study = Study(patient=Patient(patient_id=f"SOAK-{org}"), accession=f"SOAK{org[:4]}")
        files = write_series(study, target.work / "seed" / org, 2)
        push(node, ae, files)
        metadata = httpx.get(f"{base}/dicomweb/studies/{study.study_uid}/metadata",
                             headers={**headers, "Accept": "application/dicom+json"})  # fmt: skip
        metadata.raise_for_status()
        first = metadata.json()[0]
        target.seeded[org] = {
            "study": study.study_uid,
            "series": first["0020000E"]["Value"][0],
            "instance": first["00080018"]["Value"][0],
        }


def push(node: Running, ae: str, files: list[Path]) -> None:
    command = [dcmtk_path("storescu"), "-aet", ae, "-aec", "YILIAN", "127.0.0.1", str(node.dicom)]
    done = subprocess.run([*command, *map(str, files)], capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"storescu: {done.stderr[-300:]}")


def timed(user: User, kind: str, name: str, work) -> None:  # noqa: ANN001
    """Run ``work()`` and report it to Locust as one request of ``kind``."""
    started = time.perf_counter()
    failure = None
    try:
        work()
    except Exception as exc:  # counted as the request's failure
        failure = exc
    user.environment.events.request.fire(
        request_type=kind, name=name, response_time=(time.perf_counter() - started) * 1000,
        response_length=0, exception=failure, context={},
    )  # fmt: skip


class Modality(User):
    wait_time = between(2, 5)

    def on_start(self) -> None:
        self.number = next(_numbers)
        self.ae = MODALITIES[self.number % len(MODALITIES)][0]
        nodes = TARGET.of("dicom")
        self.node = nodes[self.number % len(nodes)]
        patient = Patient(patient_id=f"SOAK-M{self.number}")
        self.study = Study(patient=patient, accession=f"M{self.number}")
        self.files: list[Path] = []
        self.batches = itertools.count()

    @task
    def store(self) -> None:
        if not self.files:
            batch = TARGET.work / "modality" / f"{self.number}-{next(self.batches)}"
            self.files = write_series(self.study, batch, BATCH)
        path = self.files.pop(0)
        timed(self, "DICOM", "C-STORE (storescu)", lambda: push(self.node, self.ae, [path]))


class Lis(User):
    wait_time = between(1, 3)

    def on_start(self) -> None:
        number = next(_numbers)
        listeners = TARGET.of("mllp")
        self.port = listeners[number % len(listeners)].mllp
        self.control = (f"SOAK{number}-{n}" for n in itertools.count())

    @task
    def result(self) -> None:
        def send() -> None:
            raw = oru("LIS", "JHZX", next(self.control)).to_er7().encode("utf-8")
            with MLLPClient("127.0.0.1", self.port) as client:
                ack = ack_fields(client.send_message(raw))
            if ack["code"] != "AA":
                raise RuntimeError(f"ACK {ack['code']}")

        timed(self, "HL7", "ORU^R01", send)


class His(HttpUser):
    wait_time = between(1, 3)
    host = "http://127.0.0.1"  # each user's own gateway, below

    def __init__(self, environment: Environment) -> None:
        number = next(_numbers)
        gateways = TARGET.of("http")
        self.host = f"http://127.0.0.1:{gateways[number % len(gateways)].http}"
        super().__init__(environment)
        self.org = MODALITIES[number % len(MODALITIES)][1]
        self.client.headers["Authorization"] = f"Bearer {TARGET.tokens[self.org]}"
        self.ids = TARGET.seeded[self.org]

    @task(3)
    def read(self) -> None:
        self.client.get(f"/fhir/Patient/soak-{self.org}", name="FHIR read")

    @task(2)
    def search(self) -> None:
        self.client.get(f"/fhir/Patient?identifier=urn:soak|{self.org}", name="FHIR search")

    @task(2)
    def studies(self) -> None:
        self.client.get("/dicomweb/studies?limit=20", name="QIDO-RS studies",
                        headers={"Accept": "application/dicom+json"})  # fmt: skip

    @task(1)
    def metadata(self) -> None:
        ids = self.ids
        self.client.get(f"/dicomweb/studies/{ids['study']}/metadata", name="WADO-RS metadata",
                        headers={"Accept": "application/dicom+json"})  # fmt: skip

    @task(2)
    def frame(self) -> None:
        ids = self.ids
        path = f"/dicomweb/studies/{ids['study']}/series/{ids['series']}/instances/"
        self.client.get(f"{path}{ids['instance']}/frames/1", name="WADO-RS frame",
                        headers={"Accept": FRAME})  # fmt: skip


def footprint(process: Running) -> tuple[float, int]:
    """RSS (MB) and open file descriptors of a process and its children."""
    pids = [process.proc.pid, *_children(process.proc.pid)]
    rss = fds = 0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text().splitlines()
            rss += next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
            fds += len(os.listdir(f"/proc/{pid}/fd"))
        except (OSError, StopIteration):
            continue
    return rss / 1024, fds


def _children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == parent:
                    found.append(int(entry.name))
            except (OSError, ValueError, IndexError):
                continue
    return found


def soak(args: argparse.Namespace) -> dict:
    global TARGET
    counts = {Modality: args.modalities, His: args.his, Lis: args.lis}
    classes = [cls for cls, n in counts.items() if n]
    with tempfile.TemporaryDirectory(dir=REPO / "var", prefix="soak-") as tmp:
        topology = default_topology if args.topology == "default" else production_topology
        with topology(Path(tmp)) as processes:
            TARGET = Target(processes, Path(tmp))
            seed(TARGET)
            env = Environment(user_classes=classes)
            runner = env.create_local_runner()
            for cls in classes:
                cls.fixed_count = counts[cls]  # exactly so many of each
            runner.start(sum(counts.values()), spawn_rate=20)
            seconds = args.minutes * 60
            warm: dict[str, tuple[float, int]] = {}
            began = time.monotonic()
            while time.monotonic() - began < seconds:
                gevent.sleep(5)
                if not warm and time.monotonic() - began >= seconds / 5:
                    warm = {name: footprint(p) for name, p in processes.items()}
            runner.quit()
            end = {name: footprint(p) for name, p in processes.items()}
    kinds = {
        f"{s.method} {s.name}": {
            "count": s.num_requests, "failures": s.num_failures,
            "p50": s.get_response_time_percentile(0.5), "p95": s.get_response_time_percentile(0.95),
        }
        for s in env.stats.entries.values()
    }  # fmt: skip
    errors = {
        f"{e.method} {e.name}": f"{e.occurrences} x {e.error}" for e in env.stats.errors.values()
    }
    footprints = {name: {"warm": warm.get(name), "end": end[name]} for name in end}
    return {"topology": args.topology, "minutes": args.minutes, "kinds": kinds, "errors": errors,
            "processes": footprints}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--topology", choices=("default", "production"), default="default")
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--modalities", type=int, default=20)
    parser.add_argument("--his", type=int, default=50)
    parser.add_argument("--lis", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    (REPO / "var").mkdir(exist_ok=True)
    figures = soak(args)
    print(f"{'request':34s}{'count':>8s}{'failed':>8s}{'p50 ms':>9s}{'p95 ms':>9s}")
    for kind, row in sorted(figures["kinds"].items()):
        print(f"{kind:34s}{row['count']:8d}{row['failures']:8d}{row['p50']:9.0f}{row['p95']:9.0f}")
    for kind, error in figures["errors"].items():
        print(f"  failed: {kind}: {error}")
    print(f"\n{'process':14s}{'RSS MB warm':>12s}{'end':>8s}{'fds warm':>10s}{'end':>6s}")
    for name, row in figures["processes"].items():
        (rss0, fd0), (rss1, fd1) = row["warm"] or (0.0, 0), row["end"]
        print(f"{name:14s}{rss0:12.0f}{rss1:8.0f}{fd0:10d}{fd1:6d}")
    if args.json:
        args.json.write_text(json.dumps(figures, ensure_ascii=False, indent=1))
    failed = sum(row["failures"] for row in figures["kinds"].values())
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
