"""Reads of patient data through FHIR and DICOMweb under concurrency: each leaves exactly one
access record, and none is answered when its record cannot be committed."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pydicom
from sqlalchemy import select, text

from storage import transaction
from storage.models import AuditRecord
from tests.dicom_data import Study, write_series
from tests.integration.dicomweb.conftest import Gateway, seed

EACH = 16
WHO = "his-tx-wsy"
PATIENT = {
    "resourceType": "Patient",
    "name": [{"text": "王五"}],
    "gender": "male",
    "identifier": [{"system": "urn:yilian:patient-id:tx-wsy", "value": "AUDIT-1"}],
}
OCTETS = 'multipart/related; type="application/octet-stream"'


def reads(gateway: Gateway, tmp_path: Path) -> dict[str, tuple[str, str]]:
    """action recorded -> (URL, Accept) of one read of each kind, on fresh data."""
    study = Study(accession="AUDIT1")
    (path,) = write_series(study, tmp_path / "ct", 1, "CT")
    seed(gateway, path)
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    instance = f"/studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}/instances/" + str(
        ds.SOPInstanceUID
    )
    created = httpx.post(
        f"{gateway.url}/fhir/Patient",
        json=PATIENT,
        headers={"Authorization": f"Bearer {gateway.token(WHO)}"},
    )
    assert created.status_code == 201
    fhir, dicomweb = f"{gateway.url}/fhir", gateway.dicomweb
    return {
        "read": (f"{fhir}/Patient/{created.json()['id']}", "application/fhir+json"),
        "search-type": (f"{fhir}/Patient?identifier=AUDIT-1", "application/fhir+json"),
        "WADO-RS frames": (f"{dicomweb}{instance}/frames/1", OCTETS),
        "WADO-RS metadata": (f"{dicomweb}{instance}/metadata", "application/dicom+json"),
        "QIDO-RS": (f"{dicomweb}/studies?AccessionNumber=AUDIT1", "application/dicom+json"),
    }


def records_by_action(gateway: Gateway) -> Counter[str]:
    with transaction(gateway.node.platform.sessions) as session:
        return Counter(session.scalars(select(AuditRecord.action).where(AuditRecord.actor == WHO)))


def test_concurrent_reads_each_leave_one_access_record(gateway: Gateway, tmp_path: Path):
    kinds = reads(gateway, tmp_path)
    before = records_by_action(gateway)
    headers = {"Authorization": f"Bearer {gateway.token(WHO)}"}
    with httpx.Client(headers=headers, timeout=60) as client, ThreadPoolExecutor(32) as pool:
        answers = list(
            pool.map(
                lambda job: (job[0], client.get(job[1], headers={"Accept": job[2]}).status_code),
                [(action, url, accept) for action, (url, accept) in kinds.items()] * EACH,
            )
        )
    assert Counter(answers) == {(action, 200): EACH for action in kinds}
    assert records_by_action(gateway) - before == dict.fromkeys(kinds, EACH)


def test_no_answer_without_its_access_record(gateway: Gateway, tmp_path: Path):
    """The access log refuses records (here: its table is gone; in life a full disk or a lost
    database): every read answers 503 in its protocol's shape, with none of the data."""
    kinds = reads(gateway, tmp_path)
    headers = {"Authorization": f"Bearer {gateway.token(WHO)}"}
    platform = gateway.node.platform
    with transaction(platform.sessions) as session:
        session.execute(text("ALTER TABLE audit_records RENAME TO audit_records_away"))
    try:
        for action, (url, accept) in kinds.items():
            answer = httpx.get(url, headers={**headers, "Accept": accept}, timeout=60)
            assert answer.status_code == 503, action
            if url.startswith(f"{gateway.url}/fhir"):
                assert answer.json()["resourceType"] == "OperationOutcome"
            assert "王五" not in answer.text
            assert "AUDIT1" not in answer.text
            assert len(answer.content) < 1000  # no pixel data
    finally:
        with transaction(platform.sessions) as session:
            session.execute(text("ALTER TABLE audit_records_away RENAME TO audit_records"))
    for action, (url, accept) in kinds.items():
        answer = httpx.get(url, headers={**headers, "Accept": accept}, timeout=60)
        assert answer.status_code == 200, action


def test_reads_in_a_batch_are_each_recorded(gateway: Gateway):
    headers = {"Authorization": f"Bearer {gateway.token(WHO)}"}
    created = httpx.post(f"{gateway.url}/fhir/Patient", json=PATIENT, headers=headers)
    read = {"request": {"method": "GET", "url": f"Patient/{created.json()['id']}"}}
    before = records_by_action(gateway)
    batch = {"resourceType": "Bundle", "type": "batch", "entry": [read] * 3}
    answer = httpx.post(f"{gateway.url}/fhir", json=batch, headers=headers, timeout=60)
    assert [e["response"]["status"] for e in answer.json()["entry"]] == ["200 OK"] * 3
    assert records_by_action(gateway) - before == {"read": 3}
