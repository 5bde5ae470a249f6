"""The disk full: ``yilian serve --demo`` keeps its data (SQLite, objects) on a 40 MB tmpfs of
its own (a private mount namespace: needs root, as the suite's network namespaces do), which a
balloon file fills once the platform runs.  A modality, a HIS and a LIS each get their
protocol's failure — a DICOM failure status, a FHIR 503 OperationOutcome, an HL7 AE — and
nothing of what they sent is kept; what was stored before is intact.  The balloon removed,
each sends again and everything is stored once."""

from __future__ import annotations

import errno
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hl7.client import MLLPClient

from tests.dcmtk import dcmtk_path
from tests.dicom_data import Study, write_series
from tests.integration.test_serve import Running, ack_fields, oru, start, wait_until_ready
from tests.integration.test_topology import token

ID_CARD = "https://yilian.example/fhir/sid/id-card"  # any system: the search is by value
PATIENT = {
    "resourceType": "Patient",
    "identifier": [{"system": ID_CARD, "value": "330702199001011237"}],
    "name": [{"text": "钱多多"}],
    "gender": "female",
}


def on_tmpfs(data: Path, size: str) -> tuple[str, ...]:
    """Run the command with a tmpfs of ``size`` mounted at ``data``, seen by it alone."""
    data.mkdir(parents=True)
    mount = f'mount -t tmpfs -o size={size} tmpfs "{data}" && exec "$@"'
    return ("unshare", "--mount", "--propagation", "private", "sh", "-c", mount, "sh")


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    tmp = tmp_path_factory.mktemp("disk-full")
    running = start(tmp, prefix=on_tmpfs(tmp / "data", "40m"))
    try:
        wait_until_ready(running, timeout=120)
        yield running
    finally:
        running.proc.send_signal(signal.SIGTERM)
        assert running.proc.wait(30) == 0, running.log.read_text()


def seen_by(running: Running, path: Path) -> Path:
    """``path`` as the platform sees it: inside its mount namespace."""
    return Path(f"/proc/{running.proc.pid}/root") / path.relative_to("/")


def fill(target: Path) -> int:
    """Write zeros to ``target`` until the file system is full; the bytes written."""
    block = bytes(1 << 20)
    with open(target, "wb", buffering=0) as balloon:
        try:
            while True:
                balloon.write(block)
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise
    return target.stat().st_size


def storescu(running: Running, files: list[Path]) -> subprocess.CompletedProcess[str]:
    command = [dcmtk_path("storescu"), "-v", "-aet", "JHZX_CT1", "-aec", "YILIAN", "127.0.0.1"]
    return subprocess.run(
        [*command, str(running.dicom), *map(str, files)], capture_output=True, text=True
    )


def instances(his: httpx.Client, study_uid: str) -> int:
    found = his.get(f"/dicomweb/studies/{study_uid}/instances")
    found.raise_for_status()
    return 0 if found.status_code == 204 else len(found.json())


def send_oru(running: Running, control_id: str) -> dict[str, str]:
    with MLLPClient("127.0.0.1", running.mllp) as client:
        return ack_fields(client.send_message(oru("LIS", "JHZX", control_id).to_er7().encode()))


def total(his: httpx.Client, path: str, **params: str) -> int:
    found = his.get(f"/fhir/{path}", params={**params, "_summary": "count"})
    found.raise_for_status()
    return int(found.json()["total"])


def test_a_full_disk_refuses_every_protocol_and_loses_nothing(platform: Running, tmp_path: Path):
    his = httpx.Client(
        base_url=f"http://127.0.0.1:{platform.http}",
        headers={"Authorization": f"Bearer {token(platform, 'his-jhzx')}"},
        timeout=30,
    )
    before, during = Study(), Study()
    assert storescu(platform, write_series(before, tmp_path / "before", 3)).returncode == 0
    assert instances(his, before.study_uid) == 3
    sent = write_series(during, tmp_path / "during", 3)
    balloon = seen_by(platform, platform.data_dir / "balloon")
    assert fill(balloon) > 20 << 20

    refused = storescu(platform, sent)
    assert refused.returncode != 0, refused.stdout
    assert "Store Response (Refused: OutOfResources)" in refused.stderr, refused.stderr
    created = his.post("/fhir/Patient", json=PATIENT)
    assert created.status_code == 503, created.text
    assert created.json()["issue"][0]["code"] == "transient"
    assert created.headers["Retry-After"]
    # A read is refused too: its access could not be recorded before the answer.
    assert his.get("/fhir/Patient", params={"_count": "1"}).status_code == 503
    # A login writes its attempt: served or refused as unavailable, never an internal error.
    login = httpx.post(
        f"http://127.0.0.1:{platform.http}/auth/token",
        data={"grant_type": "password", "username": "wanglei", "password": "Demo@2026"},
    )
    assert login.status_code in (200, 503), login.text
    ack = send_oru(platform, "FULL-0001")
    assert (ack["code"], ack["control_id"]) == ("AE", "FULL-0001")

    balloon.unlink()  # space again: nothing of what was refused was kept
    assert instances(his, during.study_uid) == 0
    assert total(his, "Patient", identifier=PATIENT["identifier"][0]["value"]) == 0
    assert total(his, "DiagnosticReport", identifier="L-FULL-0001") == 0
    incoming = seen_by(platform, platform.data_dir / "objects" / ".incoming")
    assert list(incoming.iterdir()) == []  # no partial object left behind

    assert storescu(platform, sent).returncode == 0
    assert his.post("/fhir/Patient", json=PATIENT).status_code == 201
    assert send_oru(platform, "FULL-0001")["code"] == "AA"
    assert instances(his, during.study_uid) == 3
    assert instances(his, before.study_uid) == 3
    assert total(his, "Patient", identifier=PATIENT["identifier"][0]["value"]) == 1
    assert total(his, "DiagnosticReport", identifier="L-FULL-0001") == 1
    assert httpx.get(f"http://127.0.0.1:{platform.http}/health").status_code == 200
