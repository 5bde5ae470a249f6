"""`yilian serve --demo` as a user runs it: real DCMTK and pynetdicom clients, HTTP, MLLP."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pydicom
import pytest
from hl7.client import MLLPClient
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.core import Message
from pynetdicom import AE
from pynetdicom.sop_class import Verification

from tests.dcmtk import dcmtk_path
from tests.dicom_data import Study, write_series
from tests.servers import free_port, wait_for_port

YILIAN = str(Path(sys.executable).with_name("yilian"))
PATIENT_NAME = "张三丰"
PATIENT_ID_NUMBER = "330702198001011234"


@dataclass
class Running:
    proc: subprocess.Popen
    data_dir: Path
    log: Path
    http: int
    dicom: int
    mllp: int


def start(
    tmp: Path, *extra: str, env: dict[str, str] | None = None, prefix: tuple[str, ...] = ()
) -> Running:
    """``yilian serve --demo`` with its data in ``tmp/data``; ``prefix``: the command it runs
    under (an ``unshare`` giving it a mount of its own)."""
    ports = {name: free_port() for name in ("http", "dicom", "mllp")}
    log = tmp / "yilian.log"
    proc = subprocess.Popen(
        [
            *prefix,
            YILIAN,
            "serve",
            "--demo",
            "--data-dir",
            str(tmp / "data"),
            "--host",
            "127.0.0.1",
            "--http-port",
            str(ports["http"]),
            "--dicom-port",
            str(ports["dicom"]),
            "--mllp-port",
            str(ports["mllp"]),
            *extra,
        ],
        stdout=subprocess.DEVNULL,
        stderr=open(log, "wb"),  # noqa: SIM115
        env={**os.environ, **(env or {})},
    )
    return Running(proc, tmp / "data", log, **ports)


def wait_until_ready(running: Running, timeout: float = 60) -> list[httpx.Response | None]:
    """Poll ``/health`` from the start until it answers 200; every answer on the way, ``None``
    while nothing listens yet."""
    url = f"http://127.0.0.1:{running.http}/health"
    answers: list[httpx.Response | None] = []
    deadline = time.monotonic() + timeout
    while True:
        assert running.proc.poll() is None, running.log.read_text()
        last = answers[-1] if answers else None
        assert time.monotonic() < deadline, f"not ready after {timeout}s: {last and last.text}"
        try:
            answer: httpx.Response | None = httpx.get(url, timeout=10)
        except httpx.TransportError:
            answer = None
        answers.append(answer)
        if answer is not None and answer.status_code == 200:
            return answers
        time.sleep(0.05)


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    running = start(tmp_path_factory.mktemp("serve"), env={"YILIAN_STUDY_STABLE_SECONDS": "2"})
    try:
        wait_until_ready(running)
        yield running
    finally:
        running.proc.send_signal(signal.SIGTERM)
        code = running.proc.wait(30)
        assert code == 0, running.log.read_text()


def echoscu(port: int, calling: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [dcmtk_path("echoscu"), "-aet", calling, "-aec", "YILIAN", "127.0.0.1", str(port)],
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_health_answers_ok(platform: Running):
    response = httpx.get(f"http://127.0.0.1:{platform.http}/health")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "object_store": "ok"},
        "services": {"http": "up", "dicom": "up", "mllp": "up", "worker": "up"},
    }


def test_echoscu_from_a_demo_modality_gets_success(platform: Running):
    done = echoscu(platform.dicom, "WCRM_CT1")
    assert done.returncode == 0, done.stderr
    assert "Rejected" not in done.stderr


def test_echoscu_from_an_unknown_ae_title_is_rejected(platform: Running):
    done = echoscu(platform.dicom, "INTRUDER")
    assert done.returncode != 0
    assert "Rejected Permanent" in done.stderr
    assert "Calling AE Title Not Recognized" in done.stderr


def test_pynetdicom_sees_the_standard_reject_reason(platform: Running):
    ae = AE("NOT_IN_REGISTRY")
    ae.add_requested_context(Verification)
    assoc = ae.associate("127.0.0.1", platform.dicom, ae_title="YILIAN")
    assert assoc.is_rejected
    rejection = assoc.acceptor.primitive
    assert (rejection.result, rejection.result_source, rejection.diagnostic) == (1, 1, 3)

    ae = AE("TX_CT1")
    ae.add_requested_context(Verification)
    assoc = ae.associate("127.0.0.1", platform.dicom, ae_title="YILIAN")
    assert assoc.is_established
    assert assoc.send_c_echo().Status == 0x0000
    assoc.release()


def test_an_ae_title_registered_while_running_is_accepted_without_restart(platform: Running):
    assert echoscu(platform.dicom, "NEW_US2").returncode != 0
    with sqlite3.connect(platform.data_dir / "yilian.db") as db:
        db.execute(
            "INSERT INTO ae_titles (ae_title, org_id, kind, description) "
            "VALUES ('NEW_US2', 'fc-wsy', 'modality', '傅村卫生院 新超声')"
        )
    deadline = time.monotonic() + 15
    while echoscu(platform.dicom, "NEW_US2").returncode != 0:
        assert time.monotonic() < deadline, "new AE title never accepted"
        time.sleep(1)


def test_a_pushed_study_is_stored_found_and_becomes_stable(platform: Running, tmp_path: Path):
    """The whole DICOM path in the real process: storescu in, findscu finds it, and the worker
    emits study.stable once the study is quiet (2 s here)."""
    study = Study(accession="SERVE1")
    files = write_series(study, tmp_path, 3)
    pushed = subprocess.run(
        [dcmtk_path("storescu"), "-aet", "TX_CT1", "-aec", "YILIAN"]
        + ["127.0.0.1", str(platform.dicom)]
        + [str(f) for f in files],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert pushed.returncode == 0, pushed.stderr
    found = subprocess.run(
        [
            dcmtk_path("findscu"),
            "-S",
            "-aet",
            "JHZX_READ1",
            "-aec",
            "YILIAN",
            "-X",
            "-od",
            str(tmp_path),
            "-k",
            "QueryRetrieveLevel=STUDY",
            "-k",
            "AccessionNumber=SERVE1",
            "-k",
            "NumberOfStudyRelatedInstances",
            "127.0.0.1",
            str(platform.dicom),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert found.returncode == 0, found.stderr
    [answer] = [pydicom.dcmread(p) for p in tmp_path.glob("rsp*.dcm")]
    assert int(answer.NumberOfStudyRelatedInstances) == 3
    deadline = time.monotonic() + 30
    while True:
        with sqlite3.connect(platform.data_dir / "yilian.db") as db:
            payloads = [
                json.loads(row[0])
                for row in db.execute("SELECT payload FROM outbox WHERE topic = 'study.stable'")
            ]
        if any(p["study_uid"] == study.study_uid for p in payloads):
            break
        assert time.monotonic() < deadline, "study.stable never emitted"
        time.sleep(0.5)
    # ... and the gateway has its series metadata ready before any viewer asks.
    cached = platform.data_dir / "objects" / "dicomweb-cache" / "metadata"
    while not list(cached.glob(f"{pydicom.dcmread(files[0]).SeriesInstanceUID}/3")):
        assert time.monotonic() < deadline + 30, "series metadata never precomputed"
        time.sleep(0.5)


def oru(sending_app: str, facility: str, control_id: str) -> Message:
    msg = Message("ORU_R01", version="2.5", validation_level=VALIDATION_LEVEL.TOLERANT)
    msg.msh.msh_3 = sending_app
    msg.msh.msh_4 = facility
    msg.msh.msh_5 = "YILIAN"
    msg.msh.msh_6 = "JHZX"
    msg.msh.msh_7 = "20261123093000"
    msg.msh.msh_9 = "ORU^R01^ORU_R01"
    msg.msh.msh_10 = control_id
    msg.msh.msh_11 = "P"
    msg.add_segment("PID")
    msg.pid.pid_3 = f"{PATIENT_ID_NUMBER}^^^^ID"
    msg.pid.pid_5 = PATIENT_NAME
    msg.add_segment("OBR")
    msg.obr.obr_3 = f"L-{control_id}"
    msg.obr.obr_4 = "BMP^基础代谢组合^L"
    msg.obr.obr_7 = "20261123080000"
    msg.add_segment("OBX")
    msg.obx.obx_2 = "NM"
    msg.obx.obx_3 = "K^钾^L"
    msg.obx.obx_5 = "6.8"
    msg.obx.obx_6 = "mmol/L"
    msg.obx.obx_7 = "3.5-5.3"
    msg.obx.obx_8 = "HH"
    msg.obx.obx_11 = "F"
    return msg


def ack_fields(raw: bytes, encoding: str = "utf-8") -> dict[str, str]:
    text = raw.strip(b"\x0b\x1c\r").decode(encoding)
    segments = {line.split("|")[0]: line.split("|") for line in text.split("\r") if line}
    return {
        "code": segments["MSA"][1],
        "control_id": segments["MSA"][2],
        "type": segments["MSH"][8],
        "to": segments["MSH"][4],
    }


def test_lis_result_is_archived_byte_for_byte_before_aa(platform: Running):
    raw = oru("LIS", "JHZX", "CTRL-0001").to_er7().encode("utf-8")
    with MLLPClient("127.0.0.1", platform.mllp) as client:
        ack = ack_fields(client.send_message(raw))
    assert ack == {"code": "AA", "control_id": "CTRL-0001", "type": "ACK^R01^ACK", "to": "LIS"}
    archived = [p.read_bytes() for p in (platform.data_dir / "objects" / "hl7").rglob("*.hl7")]
    assert raw in archived


def test_gb18030_analyser_gets_its_ack_in_gb18030(platform: Running):
    raw = oru("MINDRAY_BC", "JHZX", "GB-0001").to_er7().encode("gb18030")
    with MLLPClient("127.0.0.1", platform.mllp, encoding="gb18030") as client:
        ack = ack_fields(client.send_message(raw), "gb18030")
    assert (ack["code"], ack["control_id"]) == ("AA", "GB-0001")


def test_unregistered_sender_is_rejected_with_ar_and_nothing_stored(platform: Running):
    hl7_dir = platform.data_dir / "objects" / "hl7"
    before = sorted(hl7_dir.rglob("*.hl7")) if hl7_dir.exists() else []
    with MLLPClient("127.0.0.1", platform.mllp) as client:
        ack = ack_fields(client.send_message(oru("ROGUE", "NOWHERE", "X-1").to_er7()))
    assert (ack["code"], ack["control_id"]) == ("AR", "X-1")
    after = sorted(hl7_dir.rglob("*.hl7")) if hl7_dir.exists() else []
    assert after == before


def test_garbage_and_broken_frames_do_not_cost_later_messages(platform: Running):
    with MLLPClient("127.0.0.1", platform.mllp) as client:
        # bytes outside any frame, then a frame whose end never came, then a real message
        client.socket.sendall(b"garbage\r\n" + b"\x0bMSH|^~\\&|LIS|JHZX|half")
        ack = ack_fields(client.send_message(oru("LIS", "JHZX", "AFTER-GARBAGE").to_er7()))
        assert (ack["code"], ack["control_id"]) == ("AA", "AFTER-GARBAGE")
        not_hl7 = ack_fields(client.send_message(b"this is not HL7"))
        assert not_hl7["code"] == "AR"
        ack = ack_fields(client.send_message(oru("LIS", "JHZX", "STILL-OK").to_er7()))
        assert ack["code"] == "AA"


def test_metrics_count_what_happened(platform: Running):
    echoscu(platform.dicom, "WCRM_CT1")
    text = httpx.get(f"http://127.0.0.1:{platform.http}/metrics").text
    assert 'yilian_dicom_associations_total{outcome="accepted"}' in text
    assert 'yilian_dicom_associations_total{outcome="rejected"}' in text
    assert 'yilian_mllp_messages_total{ack="AA"}' in text
    # HTTP figures are summed over the processes answering on the port (two by default here).
    health = re.search(
        r'yilian_http_requests_total\{method="GET",route="/health",status="200"\} ([\d.]+)', text
    )
    assert health is not None
    assert float(health.group(1)) >= 1


def test_logs_never_contain_patient_identifiers(platform: Running):
    with MLLPClient("127.0.0.1", platform.mllp) as client:
        client.send_message(oru("LIS", "JHZX", "PHI-1").to_er7())
        client.send_message(oru("ROGUE", "NOWHERE", "PHI-2").to_er7())
    time.sleep(0.5)
    log = platform.log.read_text(encoding="utf-8")
    assert "association accepted" in log  # the log is being written
    assert PATIENT_NAME not in log
    assert PATIENT_ID_NUMBER not in log


def test_only_dicom_runs_just_the_dicom_node_and_stops_cleanly_on_sigterm(tmp_path: Path):
    running = start(tmp_path, "--only", "dicom")
    try:
        wait_for_port(running.dicom, 60, running.proc)
        assert echoscu(running.dicom, "JHZX_CT1").returncode == 0
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{running.http}/health")
    finally:
        running.proc.send_signal(signal.SIGTERM)
        assert running.proc.wait(30) == 0
