"""C-STORE as clinics push: DCMTK's storescu with every kind of instance, and bad input."""

from __future__ import annotations

import socket
import struct
from pathlib import Path

import pydicom
import pytest
from pynetdicom import AE
from pynetdicom.sop_class import CTImageStorage
from sqlalchemy import func, select

from storage import transaction
from storage.models import AuditRecord, DicomInstance, DicomStudy, StoredObject
from tests.dicom_data import SAMPLES, Study, data_set_bytes, sample, write_series
from tests.integration.dicom.conftest import CLINIC_AE, NODE_AE, RunningNode, send_file


def stored_bytes(node: RunningNode, sop_uid: str) -> bytes | None:
    with transaction(node.platform.sessions) as session:
        row = session.get(DicomInstance, sop_uid)
        key = row.object_key if row else None
    return b"".join(node.platform.blobs.get(key)) if key else None


def test_ct_series_pushed_by_storescu_is_indexed_and_stored(node: RunningNode, tmp_path: Path):
    study = Study()
    paths = write_series(study, tmp_path / "ct", 5)
    result = node.storescu(*paths)
    assert result.returncode == 0, result.stderr
    with transaction(node.platform.sessions) as session:
        row = session.get(DicomStudy, study.study_uid)
        assert row is not None
        assert row.instance_count == 5
        assert row.org_id == "tx-wsy"
    for path in paths:
        sent = pydicom.dcmread(path)
        stored = stored_bytes(node, sent.SOPInstanceUID)
        assert stored is not None
        assert data_set_bytes(stored) == data_set_bytes(path.read_bytes())


# The storescu option that proposes each compressed syntax (DCMTK adds the file's own syntax
# to what it proposes; the option is what a modality configured for that codec sends).
PROPOSE = {
    "1.2.840.10008.1.2.4.50": "-xy",  # JPEG baseline
    "1.2.840.10008.1.2.4.51": "-xx",  # JPEG extended
    "1.2.840.10008.1.2.4.70": "-xs",  # JPEG lossless SV1
    "1.2.840.10008.1.2.4.80": "-xt",  # JPEG-LS lossless
    "1.2.840.10008.1.2.4.90": "-xv",  # JPEG 2000 lossless
    "1.2.840.10008.1.2.4.91": "-xw",  # JPEG 2000
    "1.2.840.10008.1.2.5": "-xr",  # RLE
    "1.2.840.10008.1.2.1.99": "-xd",  # deflated
    "1.2.840.10008.1.2": "-xi",  # implicit VR little endian
    "1.2.840.10008.1.2.2": "-xb",  # explicit VR big endian (retired)
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_every_sample_arrives_in_its_own_transfer_syntax(
    sqlite_node: RunningNode, name: str
) -> None:
    sent = pydicom.dcmread(sample(name))
    syntax = sent.file_meta.TransferSyntaxUID
    result = sqlite_node.storescu(sample(name), extra=(PROPOSE.get(syntax, "-xe"), "-R"))
    assert result.returncode == 0, result.stderr
    stored = stored_bytes(sqlite_node, sent.SOPInstanceUID)
    assert stored is not None, result.stderr
    received = pydicom.dcmread(pydicom.filebase.DicomBytesIO(stored))
    assert received.file_meta.TransferSyntaxUID == syntax
    assert received.SOPClassUID == sent.SOPClassUID
    if "PixelData" in sent:
        assert received.PixelData == sent.PixelData
    if "WaveformSequence" in sent:
        assert received.WaveformSequence[0].WaveformData == sent.WaveformSequence[0].WaveformData


def test_unknown_calling_ae_is_rejected_at_association(sqlite_node: RunningNode, tmp_path: Path):
    [path] = write_series(Study(), tmp_path, 1)
    result = sqlite_node.storescu(path, calling="STRANGER")
    assert result.returncode != 0
    assert "Calling AE Title Not Recognized" in result.stderr + result.stdout
    ae = AE("STRANGER")
    ae.add_requested_context(CTImageStorage)
    assoc = ae.associate("127.0.0.1", sqlite_node.port, ae_title=NODE_AE)
    assert assoc.is_rejected
    assert (assoc.acceptor.primitive.result, assoc.acceptor.primitive.diagnostic) == (0x01, 0x03)


def test_wrong_called_ae_is_rejected(sqlite_node: RunningNode) -> None:
    ae = AE(CLINIC_AE)
    ae.add_requested_context(CTImageStorage)
    assoc = ae.associate("127.0.0.1", sqlite_node.port, ae_title="NOT_YILIAN")
    assert assoc.is_rejected
    assert assoc.acceptor.primitive.diagnostic == 0x07  # called AE title not recognised


def _count(node: RunningNode, model: type) -> int:
    with transaction(node.platform.sessions) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_truncated_dataset_gets_a_failure_and_leaves_nothing(
    sqlite_node: RunningNode, tmp_path: Path
) -> None:
    [good, bad] = write_series(Study(), tmp_path, 2)
    assert sqlite_node.storescu(good).returncode == 0
    cut = tmp_path / "cut.dcm"
    cut.write_bytes(bad.read_bytes()[:-2000])  # a modality losing its disk mid-file
    status = send_file(sqlite_node, cut)
    assert status.Status & 0xF000 == 0xC000
    assert _count(sqlite_node, DicomInstance) == 1
    assert _count(sqlite_node, StoredObject) == 1
    assert len(list(sqlite_node.platform.blobs.list("dicom/"))) == 1
    stored = stored_bytes(sqlite_node, pydicom.dcmread(good).SOPInstanceUID)
    assert stored is not None
    assert data_set_bytes(stored) == data_set_bytes(good.read_bytes())


def test_garbage_data_set_gets_a_failure(sqlite_node: RunningNode, tmp_path: Path) -> None:
    [path] = write_series(Study(), tmp_path, 1)
    raw = path.read_bytes()
    meta_end = 132 + 12 + pydicom.dcmread(path).file_meta.FileMetaInformationGroupLength
    junk = tmp_path / "junk.dcm"
    junk.write_bytes(raw[:meta_end] + struct.pack("<HHI", 0x0008, 0x0016, 0xFFFF0) + b"\x01" * 64)
    status = send_file(sqlite_node, junk)
    assert status.Status & 0xF000 == 0xC000
    assert _count(sqlite_node, DicomInstance) == 0
    assert list(sqlite_node.platform.blobs.list("dicom/")) == []


def test_data_set_without_study_uid_is_refused(sqlite_node: RunningNode, tmp_path: Path) -> None:
    [path] = write_series(Study(), tmp_path, 1)
    ds = pydicom.dcmread(path)
    del ds.StudyInstanceUID
    ds.save_as(path)
    status = send_file(sqlite_node, path)
    assert status.Status == 0xA900
    assert _count(sqlite_node, DicomInstance) == 0


def test_every_stored_instance_is_audited(sqlite_node: RunningNode, tmp_path: Path) -> None:
    paths = write_series(Study(), tmp_path, 3)
    assert sqlite_node.storescu(*paths).returncode == 0
    assert sqlite_node.storescu(*paths).returncode == 0  # duplicates: no new write
    with transaction(sqlite_node.platform.sessions) as session:
        records = session.scalars(select(AuditRecord)).all()
        assert [(r.actor, r.action, r.actor_org_id) for r in records] == [
            (CLINIC_AE, "C-STORE", "tx-wsy")
        ] * 3


def test_health_probe_connection_is_harmless(sqlite_node: RunningNode) -> None:
    with socket.create_connection(("127.0.0.1", sqlite_node.port), timeout=5):
        pass
    [path] = write_series(Study(), Path(sqlite_node.platform.settings.data_dir) / "x", 1)
    assert sqlite_node.storescu(path).returncode == 0
