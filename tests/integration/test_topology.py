"""The production topology in one test module: PostgreSQL and SeaweedFS S3 started here, two
HTTP gateways, two DICOM nodes, two MLLP listeners and two workers, each a separate
``yilian serve --only …`` process on one database and one bucket.

Workers poll only every two minutes here: whatever they do within seconds, they were woken for
by PostgreSQL's LISTEN/NOTIFY (``storage.wake``), not found by polling."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pydicom
import pytest
from hl7.client import MLLPClient
from sqlalchemy import func, select

from storage.db import create_db_engine
from storage.models import OutboxEvent, OutboxState
from tests.conftest import new_postgres_database
from tests.dcmtk import dcmtk_path
from tests.dicom_data import Study, write_series
from tests.integration import senders as senders_
from tests.integration.test_serve import Running, ack_fields, oru, start, wait_until_ready
from tests.servers import PostgresServer, SeaweedS3, wait_for_port

POLL_SECONDS = "120"
LEASE_SECONDS = 6
SERVICES = ("http", "http", "dicom", "dicom", "mllp", "mllp", "worker", "worker")
CATEGORY = "http://yilian.example/fhir/CodeSystem/exam-category"
DCM = "http://dicom.nema.org/resources/ontology/DCM"


@pytest.fixture(scope="module")
def env(postgres_server: str, seaweed: SeaweedS3) -> dict[str, str]:
    return {
        "YILIAN_DATABASE_URL": new_postgres_database(postgres_server),
        "YILIAN_OBJECT_STORE_URL": seaweed.url(f"topo{int(time.time())}"),
        "YILIAN_WORKER_POLL_SECONDS": POLL_SECONDS,
        "YILIAN_STUDY_STABLE_SECONDS": "2",
        "YILIAN_WORKER_LEASE_SECONDS": str(LEASE_SECONDS),
        # Two gateways of one process each: the topology scales by processes of its own.
        "YILIAN_HTTP_PROCESSES": "1",
    }


@pytest.fixture(scope="module")
def topology(
    tmp_path_factory: pytest.TempPathFactory, env: dict[str, str]
) -> Iterator[dict[str, list[Running]]]:
    first = start(tmp_path_factory.mktemp("http"), "--only", "http", env=env)  # migrates, loads
    wait_until_ready(first, timeout=120)
    running: dict[str, list[Running]] = {"http": [first]}
    for service in SERVICES[1:]:
        process = start(tmp_path_factory.mktemp(service), "--only", service, env=env)
        running.setdefault(service, []).append(process)
    try:
        for service, processes in running.items():
            for process in processes:
                ready(service, process)
        yield running
    finally:
        for processes in running.values():
            for process in processes:
                if process.proc.poll() is None:
                    process.proc.send_signal(signal.SIGTERM)
        for processes in running.values():
            for process in processes:
                process.proc.wait(60)


def ready(service: str, process: Running) -> None:
    """Only the gateway answers ``/health``: the others are ready when they listen or log."""
    if service == "http":
        wait_until_ready(process, timeout=120)
    elif service == "worker":
        eventually(lambda: "worker started" in process.log.read_text(), seconds=120)
    else:
        wait_for_port(getattr(process, service), 120, process.proc)


def fhir(gateway: Running, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=f"http://127.0.0.1:{gateway.http}/fhir",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"},
        timeout=30,
    )


def token(gateway: Running, client: str) -> str:
    secret = f"demo-secret-{client.removeprefix('his-')}"
    answer = httpx.post(
        f"http://127.0.0.1:{gateway.http}/auth/token",
        data={"grant_type": "client_credentials"},
        auth=(client, secret),
    )
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def eventually(found: Any, seconds: float = 20) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if result := found():
            return result
        time.sleep(0.1)
    raise AssertionError(f"not within {seconds} s")


def test_a_token_from_one_gateway_is_honoured_by_the_other(topology: dict[str, list[Running]]):
    first, second = topology["http"]
    issued = token(first, "his-tx-wsy")
    with fhir(second, issued) as client:
        answer = client.get("/Organization/tx-wsy")
    assert answer.status_code == 200
    assert answer.json()["name"] == "婺城区汤溪镇中心卫生院"


def test_an_order_at_one_gateway_gets_its_task_from_a_worker_woken_by_notify(
    topology: dict[str, list[Running]],
):
    first, second = topology["http"]
    with fhir(first, token(first, "his-tx-wsy")) as his:
        began = time.monotonic()
        placed = his.post("/ServiceRequest", json=order(his, "周一"))
        assert placed.status_code == 201, placed.text
    with fhir(second, token(second, "his-tx-wsy")) as other:
        tasks = eventually(lambda: tasks_of(other, placed.json()["id"]))
    took = time.monotonic() - began
    assert len(tasks) == 1
    assert took < float(POLL_SECONDS) / 4  # a poll would have taken up to two minutes


def order(his: httpx.Client, name: str) -> dict[str, Any]:
    patient = his.post("/Patient", json={"resourceType": "Patient", "name": [{"text": name}]})
    return {
            "resourceType": "ServiceRequest", "status": "active", "intent": "order",
            "priority": "routine",
            "category": [{"coding": [{"system": CATEGORY, "code": "imaging"}]}],
            "code": {"coding": [{"system": DCM, "code": "DX"}], "text": "胸部DR正位"},
            "subject": {"reference": f"Patient/{patient.json()['id']}"},
            "requester": {"reference": "Organization/tx-wsy"},
            "performer": [{"reference": "Organization/jhzx"}],
    }  # fmt: skip


def tasks_of(client: httpx.Client, order_id: str) -> list[dict[str, Any]]:
    return list(client.get(f"/Task?based-on=ServiceRequest/{order_id}").json().get("entry", []))


def test_modalities_push_to_both_nodes_and_both_gateways_find_every_study(
    topology: dict[str, list[Running]], tmp_path: Path
):
    accessions = []
    for n, node in enumerate(topology["dicom"]):
        study = Study(accession=f"TOPO{n}")
        files = write_series(study, tmp_path / str(n), 2)
        pushed = subprocess.run(
            [dcmtk_path("storescu"), "-aet", "TX_CT1", "-aec", "YILIAN", "127.0.0.1"]
            + [str(node.dicom)] + [str(f) for f in files],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert pushed.returncode == 0, pushed.stderr
        accessions.append(study.accession)
    for gateway in topology["http"]:
        headers = {"Authorization": f"Bearer {token(gateway, 'his-tx-wsy')}"}
        for accession in accessions:
            found = httpx.get(
                f"http://127.0.0.1:{gateway.http}/dicomweb/studies",
                params={"AccessionNumber": accession},
                headers={**headers, "Accept": "application/dicom+json"},
            )
            assert found.status_code == 200, found.text
            assert len(found.json()) == 1
        # Stable studies become ImagingStudy resources: the workers' work, woken by NOTIFY.
        with fhir(gateway, token(gateway, "his-tx-wsy")) as client:
            eventually(
                lambda c=client: len(c.get("/ImagingStudy?_count=50").json().get("entry", [])) >= 2,
                seconds=30,
            )


def test_lis_senders_use_both_listeners_and_every_result_is_stored(
    topology: dict[str, list[Running]],
):
    for n, listener in enumerate(topology["mllp"]):
        raw = oru("LIS", "JHZX", f"TOPO-{n}").to_er7().encode("utf-8")
        with MLLPClient("127.0.0.1", listener.mllp) as client:
            ack = ack_fields(client.send_message(raw))
        assert (ack["code"], ack["control_id"]) == ("AA", f"TOPO-{n}")
    gateway = topology["http"][1]
    with fhir(gateway, token(gateway, "his-jhzx")) as lab:
        for n in range(2):
            found = lab.get("/DiagnosticReport", params={"identifier": f"L-TOPO-{n}"}).json()
            assert found.get("total", len(found.get("entry", []))) >= 1, found


def test_a_worker_killed_while_it_holds_events_loses_none_and_repeats_none(
    topology: dict[str, list[Running]], env: dict[str, str], tmp_path: Path
):
    """The other worker is paused while the victim claims the orders' events and is killed
    mid-batch; resumed, it takes the victim's events up once their lease has passed.  The
    victim is then started again, as its supervisor would: later tests run on two workers."""
    victim, survivor = topology["worker"]
    gateway = topology["http"][0]
    survivor.proc.send_signal(signal.SIGSTOP)
    try:
        with fhir(gateway, token(gateway, "his-tx-wsy")) as his:
            orders = [order(his, f"批{n}") for n in range(30)]
            entries = [{"resource": o, "request": {"method": "POST", "url": "ServiceRequest"}}
                       for o in orders]  # fmt: skip
            bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
            placed = his.post("", json=bundle).json()
            ids = [e["response"]["location"].split("/")[1] for e in placed["entry"]]
        kill_while_holding(victim, env)
    finally:
        survivor.proc.send_signal(signal.SIGCONT)
    with fhir(gateway, token(gateway, "his-tx-wsy")) as his:
        eventually(lambda: all(tasks_of(his, i) for i in ids), seconds=LEASE_SECONDS + 60)
        assert [len(tasks_of(his, i)) for i in ids] == [1] * len(ids)
    # A handler's effects commit before its event is marked done: the last Task can be
    # visible a moment before the last event is.
    eventually(lambda: set(outbox_states(env)) == {OutboxState.DONE})
    topology["worker"][0] = start(tmp_path, "--only", "worker", env=env)
    ready("worker", topology["worker"][0])


def kill_while_holding(victim: Running, env: dict[str, str]) -> dict[OutboxState, int]:
    """Pause the victim at a moment it holds claimed events (the survivor is paused too, so
    every running event is the victim's), then kill it; return the states it left."""
    deadline, held = time.monotonic() + 30, {}
    while time.monotonic() < deadline:
        victim.proc.send_signal(signal.SIGSTOP)
        held = outbox_states(env)
        if held.get(OutboxState.RUNNING, 0):
            victim.proc.kill()
            victim.proc.wait(30)
            return held
        victim.proc.send_signal(signal.SIGCONT)
        time.sleep(0.01)
    raise AssertionError(f"the victim held no event within 30 s: {held}")


def reading_orders(env: dict[str, str], *columns: Any, group: Any = None) -> list[Any]:
    """Rows of the ``reading.order`` events, read outside the topology."""
    engine = create_db_engine(env["YILIAN_DATABASE_URL"])
    statement = select(*columns).where(OutboxEvent.topic == "reading.order")
    try:
        with engine.connect() as conn:
            return list(conn.execute(statement if group is None else statement.group_by(group)))
    finally:
        engine.dispose()


def order_events(env: dict[str, str], order_id: str) -> list[tuple[Any, ...]]:
    """The outbox events about one order: state, attempts, when due, last error."""
    columns = (OutboxEvent.state, OutboxEvent.attempts, OutboxEvent.available_at,
               OutboxEvent.locked_until, OutboxEvent.last_error, OutboxEvent.payload)  # fmt: skip
    rows = reading_orders(env, *columns)
    return [tuple(row)[:-1] for row in rows if row.payload.get("id") == order_id]


def log_tail(process: Running, lines: int = 15) -> str:
    alive = "running" if process.proc.poll() is None else f"exited {process.proc.returncode}"
    tail = process.log.read_text(errors="replace").splitlines()[-lines:]
    return "\n  ".join([f"{process.log} ({alive}):", *tail])


def outbox_states(env: dict[str, str]) -> dict[OutboxState, int]:
    """How many ``reading.order`` events are in each state."""
    rows = reading_orders(env, OutboxEvent.state, func.count(), group=OutboxEvent.state)
    return {state: count for state, count in rows}


def test_postgresql_restarted_and_s3_stopped_under_load_lose_nothing_and_store_once(
    topology: dict[str, list[Running]],
    postgres: PostgresServer,
    seaweed: SeaweedS3,
    tmp_path: Path,
    env: dict[str, str],
):
    """A modality, a HIS and a LIS send to both endpoints of their protocol while PostgreSQL
    restarts (down 5 s) and then S3 stops for 30 s.  Each sender is refused at times and sends
    again; in the end every item is stored exactly once, and a worker is still woken by
    NOTIFY (its listening connection came back with the database)."""
    gateway = topology["http"][0]
    tokens = [token(g, "his-tx-wsy") for g in topology["http"]]
    study = Study(accession="FAULTS")
    files = write_series(study, tmp_path / "ct", 400)
    senders = [
        senders_.modality(topology["dicom"], files),
        senders_.his(topology["http"], tokens),
        senders_.lis(topology["mllp"]),
    ]

    def faults() -> None:
        time.sleep(3)
        postgres.stop()
        time.sleep(5)
        postgres.start()
        time.sleep(5)
        seaweed.stop()
        time.sleep(30)
        seaweed.start()
        time.sleep(3)

    began = time.monotonic()
    senders_.run_through(senders, faults)
    summaries = map(senders_.summary, senders)
    print(f"faults, {time.monotonic() - began:.0f} s:", *summaries, sep="\n  ")  # for the note
    for process in (p for processes in topology.values() for p in processes):
        assert process.proc.poll() is None, log_tail(process)  # each rode the faults out
    for sender in senders:
        assert sender.refused, f"{sender.name} never saw the faults"
        assert sorted(sender.stored) == list(range(len(sender.stored))), sender.name
    modality, his, lis = (len(s.stored) for s in senders)
    with fhir(gateway, tokens[0]) as client:
        found = client.get(f"/Patient?identifier={senders_.FAULT_SYSTEM}|&_summary=count")
        assert found.json()["total"] == his
        placed = client.post("/ServiceRequest", json=order(client, "恢复后")).json()
        try:
            eventually(lambda: tasks_of(client, placed["id"]), seconds=30)
        except AssertionError as missing:
            workers = "\n".join(map(log_tail, topology["worker"]))
            events = order_events(env, placed["id"])
            raise AssertionError(f"no Task; its events: {events}\n{workers}") from missing
    stored = httpx.get(
        f"http://127.0.0.1:{gateway.http}/dicomweb/studies/{study.study_uid}/instances",
        headers={"Authorization": f"Bearer {tokens[0]}", "Accept": "application/dicom+json"},
    ).json()
    sent = {pydicom.dcmread(files[n]).SOPInstanceUID for n in range(modality)}
    assert {i["00080018"]["Value"][0] for i in stored} == sent
    with fhir(gateway, token(gateway, "his-jhzx")) as lab:
        for n in range(lis):
            found = lab.get(f"/DiagnosticReport?identifier=L-FAULT-{n}&_summary=count")
            assert found.json()["total"] == 1, n
