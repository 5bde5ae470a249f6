"""STOW-RS: the same ingest as C-STORE, one answer per part, nothing half-written."""

from __future__ import annotations

from pathlib import Path

import httpx
import pydicom
import pytest
import yaml
from sqlalchemy import func, select

from storage import import_alliance_file, transaction
from storage.models import AuditRecord, DicomInstance, StoredObject
from tests.conftest import DEMO_ALLIANCE
from tests.dicom_data import UID_64, Study, with_uid, write_series
from tests.integration.dicomweb.conftest import Gateway, multipart, start_gateway, uid
from tests.servers import SeaweedS3

REFERENCED, FAILED, REASON = "00081199", "00081198", "00081197"


def post(gateway: Gateway, path: str, content_type: str, body: bytes, who: str = "wanglei"):
    headers = {
        "Authorization": f"Bearer {gateway.token(who)}",
        "Content-Type": content_type,
        "Accept": "application/dicom+json",
    }
    return httpx.post(f"{gateway.dicomweb}{path}", content=body, headers=headers, timeout=60)


def instance_count(gateway: Gateway) -> int:
    with transaction(gateway.node.platform.sessions) as session:
        return session.scalar(select(func.count()).select_from(DicomInstance))


def test_store_with_dicomweb_client_then_find_and_audit(gateway: Gateway, tmp_path: Path):
    study = Study(accession="STOW1")
    files = write_series(study, tmp_path / "s", 3, "CT")
    client = gateway.client("wanglei")
    answer = client.store_instances([pydicom.dcmread(f) for f in files])
    stored = answer.ReferencedSOPSequence
    assert sorted(item.ReferencedSOPInstanceUID for item in stored) == sorted(
        pydicom.dcmread(f).SOPInstanceUID for f in files
    )
    assert "FailedSOPSequence" not in answer
    found = client.search_for_studies(search_filters={"AccessionNumber": "STOW1"})
    assert [uid(s, "0020000D") for s in found] == [study.study_uid]
    retrieved = client.retrieve_instance(
        study.study_uid,
        stored[0].RetrieveURL.split("/series/")[1].split("/")[0],
        stored[0].ReferencedSOPInstanceUID,
    )
    assert retrieved.AccessionNumber == "STOW1"
    with transaction(gateway.node.platform.sessions) as session:
        audits = session.scalars(select(AuditRecord).where(AuditRecord.action == "STOW-RS")).all()
    assert {(a.channel, a.actor, a.actor_org_id, a.outcome) for a in audits} == {
        ("dicomweb", "wanglei", "jhzx", "success")
    }
    assert len(audits) == 3

    again = client.store_instances([pydicom.dcmread(f) for f in files])  # a retry: no-op success
    assert len(again.ReferencedSOPSequence) == 3
    assert instance_count(gateway) == 3


def test_one_bad_part_never_drops_the_others(gateway: Gateway, tmp_path: Path):
    good = write_series(Study(), tmp_path / "g", 1, "CT")[0]
    truncated = good.read_bytes()[:-1000]
    content_type, body = multipart(
        [
            ("application/dicom", good.read_bytes()),
            ("application/dicom", b"this is not DICOM at all" * 20),
            ("application/dicom", truncated),
            ("text/plain", b"hello"),
        ]
    )
    response = post(gateway, "/studies", content_type, body)
    assert response.status_code == 202
    document = response.json()
    assert len(document[REFERENCED]["Value"]) == 1
    reasons = [item[REASON]["Value"][0] for item in document[FAILED]["Value"]]
    assert reasons == [0xC000, 0xC000, 0xC000]
    assert instance_count(gateway) == 1


def test_instance_of_another_study_is_refused(gateway: Gateway, tmp_path: Path):
    file = write_series(Study(), tmp_path / "x", 1, "CT")[0]
    content_type, body = multipart([("application/dicom", file.read_bytes())])
    response = post(gateway, f"/studies/{Study().study_uid}", content_type, body)
    assert response.status_code == 409
    assert response.json()[FAILED]["Value"][0][REASON]["Value"] == [0xA900]
    assert instance_count(gateway) == 0


@pytest.mark.parametrize(
    ("content_type", "body", "status"),
    [
        ("application/json", b"{}", 415),
        ('multipart/related; type="application/dicom+json"; boundary=x', b"", 415),
        ('multipart/related; type="application/dicom"', b"--x\r\n", 400),
        ('multipart/related; type="application/dicom"; boundary=x', b"--x\r\nContent-Type: a", 400),
        ('multipart/related; type="application/dicom"; boundary=x', b"--x--\r\n", 400),
    ],
    ids=["json", "metadata-parts", "no-boundary", "unterminated", "no-parts"],
)
def test_malformed_requests(gateway: Gateway, content_type: str, body: bytes, status: int):
    response = post(gateway, "/studies", content_type, body)
    assert response.status_code == status
    assert response.json()["detail"]
    assert instance_count(gateway) == 0


def test_store_needs_the_create_scope(gateway: Gateway, tmp_path: Path):
    file = write_series(Study(), tmp_path / "x", 1, "CT")[0]
    content_type, body = multipart([("application/dicom", file.read_bytes())])
    response = post(gateway, "/studies", content_type, body, who="his-tx-wsy")  # read-only
    assert response.status_code == 403
    assert instance_count(gateway) == 0


@pytest.mark.slow
def test_object_store_outage_loses_nothing(tmp_path: Path, demo_sqlite: Path):
    with SeaweedS3() as s3, start_gateway(tmp_path, demo_sqlite, s3.url("stow-outage")) as gateway:
        first = write_series(Study(), tmp_path / "a", 1, "CT")[0]
        content_type, body = multipart([("application/dicom", first.read_bytes())])
        assert post(gateway, "/studies", content_type, body).status_code == 200
        s3.stop()
        second = write_series(Study(), tmp_path / "b", 1, "CT")[0]
        content_type, body = multipart([("application/dicom", second.read_bytes())])
        response = post(gateway, "/studies", content_type, body)
        assert response.status_code == 409
        assert response.json()[FAILED]["Value"][0][REASON]["Value"] == [0xA700]
        with transaction(gateway.node.platform.sessions) as session:
            assert session.scalar(select(func.count()).select_from(StoredObject)) == 1
        assert instance_count(gateway) == 1
        s3.start()
        assert post(gateway, "/studies", content_type, body).status_code == 200
        assert instance_count(gateway) == 2


def test_uid_longer_than_64_characters_is_refused_not_truncated(gateway: Gateway, tmp_path: Path):
    """Two parts whose SOP Instance UIDs differ only after character 64, beside a good one:
    each is a failed part with its reason, the good one is stored, and nothing is indexed or
    kept under the first 64 characters (before, both were stored as one and one was lost)."""
    good, *long = write_series(Study(), tmp_path / "s", 3, "CT")
    for number, path in enumerate(long, 1):
        with_uid(path, "SOPInstanceUID", f"{UID_64}.{str(number) * 5}.{str(number) * 5}")
    content_type, body = multipart([("application/dicom", p.read_bytes()) for p in (good, *long)])
    response = post(gateway, "/studies", content_type, body)
    assert response.status_code == 202
    document = response.json()
    assert [uid(item, "00081155") for item in document[REFERENCED]["Value"]] == [
        pydicom.dcmread(good).SOPInstanceUID
    ]
    failed = document[FAILED]["Value"]
    assert [item[REASON]["Value"] for item in failed] == [[0xA900], [0xA900]]
    assert all("00081155" not in item for item in failed)  # no usable UID to name it by
    for number in (2, 3):
        said = f"part {number}: SOPInstanceUID has 76 characters (at most 64)"
        assert said in response.headers["warning"]

    content_type, body = multipart([("application/dicom", p.read_bytes()) for p in long])
    assert post(gateway, "/studies", content_type, body).status_code == 409  # none stored
    with transaction(gateway.node.platform.sessions) as session:
        assert session.scalar(select(func.count()).select_from(StoredObject)) == 1
        assert session.scalars(select(DicomInstance.sop_instance_uid)).all() == [
            pydicom.dcmread(good).SOPInstanceUID
        ]
    assert len(list(gateway.node.platform.blobs.list("dicom/"))) == 1


def test_refused_part_names_its_instance_when_it_can(gateway: Gateway, tmp_path: Path):
    """A part refused for something other than its own UID is named by its UIDs."""
    path = write_series(Study(), tmp_path / "s", 1, "CT")[0]
    with_uid(path, "SeriesInstanceUID", "1.2.840.x")
    content_type, body = multipart([("application/dicom", path.read_bytes())])
    response = post(gateway, "/studies", content_type, body)
    assert response.status_code == 409
    [item] = response.json()[FAILED]["Value"]
    sent = pydicom.dcmread(path, stop_before_pixels=True)
    assert uid(item, "00081155") == sent.SOPInstanceUID
    assert uid(item, "00081150") == sent.SOPClassUID
    assert "part 1: SeriesInstanceUID has characters other than 0-9" in response.headers["warning"]
    assert instance_count(gateway) == 0


def test_the_access_log_names_a_long_client_id_whole(gateway: Gateway, tmp_path: Path):
    """The index keeps a calling AE title (16 characters); the access log keeps who it was."""
    alliance = yaml.safe_load(DEMO_ALLIANCE.read_text())
    client_id = "his-jhzx-imaging-archive"  # 24 characters
    alliance["api_clients"].append({
        "client_id": client_id, "name": "影像归档", "organization": "jhzx",
        "scopes": ["system/ImagingStudy.cruds"],
        "secret": f"demo-secret-{client_id.removeprefix('his-')}",
    })  # fmt: skip
    path = tmp_path / "alliance.yaml"
    path.write_text(yaml.safe_dump(alliance, allow_unicode=True))
    import_alliance_file(gateway.node.platform.sessions, path)
    [instance] = write_series(Study(), tmp_path / "s", 1)
    content_type, body = multipart([("application/dicom", instance.read_bytes())])
    assert post(gateway, "/studies", content_type, body, who=client_id).status_code == 200
    with transaction(gateway.node.platform.sessions) as session:
        [audit] = session.scalars(select(AuditRecord).where(AuditRecord.action == "STOW-RS"))
        [stored] = session.scalars(select(DicomInstance))
        assert (audit.actor, stored.calling_ae) == (client_id, client_id[:16])
