"""C-STORE from careless or broken senders: what is refused is answered with a failure status
and a reason and leaves nothing behind; what identifies an instance is never cut."""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest
from sqlalchemy import func, select

from storage import transaction
from storage.models import DicomInstance, DicomSeries, DicomStudy, StoredObject
from tests.dicom_data import (
    UID_64,
    Study,
    data_set_bytes,
    explicit_element,
    replace_element,
    with_uid,
    write_series,
)
from tests.integration.dicom.conftest import RunningNode, send_file

DATA_SET_DOES_NOT_MATCH = 0xA900


def nothing_stored(node: RunningNode) -> bool:
    with transaction(node.platform.sessions) as session:
        rows = [
            session.scalar(select(func.count()).select_from(model))
            for model in (DicomStudy, DicomSeries, DicomInstance, StoredObject)
        ]
    return rows == [0, 0, 0, 0] and list(node.platform.blobs.list("")) == []


def push_two_long_uids(node: RunningNode, tmp_path: Path, keyword: str) -> str:
    """Two instances whose ``keyword`` UIDs differ only after character 64, pushed by DCMTK's
    storescu; its debug output (statuses and error comments)."""
    paths = write_series(Study(), tmp_path, 2)
    for number, path in enumerate(paths, 1):
        with_uid(path, keyword, f"{UID_64}.{str(number) * 5}.{str(number) * 5}")  # 76
    result = node.storescu(*paths, extra=("-d", "--no-halt"))
    return result.stdout + result.stderr


def test_uid_longer_than_64_characters_is_refused_not_truncated(
    node: RunningNode, tmp_path: Path
) -> None:
    """Each is refused with the attribute and its length named, and nothing is indexed under
    the first 64 characters (before, both got Success and one was never served)."""
    output = push_two_long_uids(node, tmp_path, "SOPInstanceUID")
    assert output.count("DIMSE Status                  : 0xa900") == 2, output[-3000:]
    assert output.count("[SOPInstanceUID has 76 characters (at most 64)]") == 2
    assert nothing_stored(node)


@pytest.mark.parametrize("keyword", ["StudyInstanceUID", "SeriesInstanceUID"])
def test_study_or_series_uid_longer_than_64_characters_is_refused_not_truncated(
    sqlite_node: RunningNode, tmp_path: Path, keyword: str
) -> None:
    output = push_two_long_uids(sqlite_node, tmp_path, keyword)
    assert output.count("DIMSE Status                  : 0xa900") == 2, output[-3000:]
    assert output.count(f"[{keyword} has 76 characters (at most 64)]") == 2
    assert nothing_stored(sqlite_node)


def test_uid_of_exactly_64_characters_is_stored_whole(
    sqlite_node: RunningNode, tmp_path: Path
) -> None:
    [path] = write_series(Study(), tmp_path, 1)
    with_uid(path, "SOPInstanceUID", UID_64, request_uid=UID_64)
    assert send_file(sqlite_node, path).Status == 0x0000
    with transaction(sqlite_node.platform.sessions) as session:
        row = session.get(DicomInstance, UID_64)
        assert row is not None
        assert f"/{UID_64}/" in row.object_key


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("1.2.840.10008.x.1", "has characters other than 0-9 and '.'"),
        ("1.2..840", "has an empty component"),
        ("1.2.840.", "has an empty component"),
        ("", "is empty"),
    ],
    ids=["letter", "double-dot", "trailing-dot", "empty"],
)
def test_uid_that_is_not_a_uid_is_refused_with_its_reason(
    sqlite_node: RunningNode, tmp_path: Path, value: str, reason: str
) -> None:
    [path] = write_series(Study(), tmp_path, 1)
    with_uid(path, "SeriesInstanceUID", value)
    status = send_file(sqlite_node, path)
    assert status.Status == DATA_SET_DOES_NOT_MATCH
    assert status.ErrorComment == f"SeriesInstanceUID {reason}"
    assert nothing_stored(sqlite_node)


def test_uid_with_leading_zeros_is_accepted(sqlite_node: RunningNode, tmp_path: Path) -> None:
    """Not conformant, but many modalities send such UIDs and each still names one study:
    refusing them would lose real studies."""
    [path] = write_series(Study(), tmp_path, 1)
    with_uid(path, "StudyInstanceUID", "1.2.840.0113654.2.70.01.1")
    assert send_file(sqlite_node, path).Status == 0x0000
    with transaction(sqlite_node.platform.sessions) as session:
        assert session.get(DicomStudy, "1.2.840.0113654.2.70.01.1") is not None


def test_broken_numeric_value_is_stored_as_received(
    sqlite_node: RunningNode, tmp_path: Path
) -> None:
    """A byte-flipped IS and a US of the wrong length (Rows) do not identify anything: the
    instance is stored byte for byte (its other values stay readable), not refused, and not
    failed with an internal error (0xC211, before)."""
    [path] = write_series(Study(), tmp_path, 1)
    raw = replace_element(
        path.read_bytes(), 0x00200013, explicit_element(0x00200013, "IS", b"1\xb1")
    )
    raw = replace_element(raw, 0x00280010, explicit_element(0x00280010, "US", b"\x40\x00\x00"))
    path.write_bytes(raw)
    assert send_file(sqlite_node, path).Status == 0x0000
    sop = pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID
    with transaction(sqlite_node.platform.sessions) as session:
        row = session.get(DicomInstance, sop)
        assert row is not None
        assert (row.instance_number, row.rows, row.frames) == (None, None, None)  # unreadable
        key = row.object_key
    assert data_set_bytes(b"".join(sqlite_node.platform.blobs.get(key))) == data_set_bytes(raw)


def test_series_uid_of_another_study_is_refused(sqlite_node: RunningNode, tmp_path: Path) -> None:
    """A modality that reuses a series UID in another study: refused, so that the image never
    shows up inside the other study (before, it was indexed into that study's series)."""
    [first] = write_series(Study(), tmp_path / "a", 1)
    [second] = write_series(Study(), tmp_path / "b", 1)
    with_uid(second, "SeriesInstanceUID", pydicom.dcmread(first).SeriesInstanceUID)
    assert send_file(sqlite_node, first).Status == 0x0000
    status = send_file(sqlite_node, second)
    assert status.Status == DATA_SET_DOES_NOT_MATCH
    assert status.ErrorComment == "SeriesInstanceUID is already a series of another study"
    with transaction(sqlite_node.platform.sessions) as session:
        assert session.scalars(select(DicomInstance.sop_instance_uid)).all() == [
            pydicom.dcmread(first).SOPInstanceUID
        ]
        assert session.get(DicomStudy, pydicom.dcmread(second).StudyInstanceUID) is None
    assert len(list(sqlite_node.platform.blobs.list("dicom/"))) == 1


def test_a_study_id_longer_than_its_vr_is_indexed_whole_and_one_past_64_refused(
    sqlite_node: RunningNode, tmp_path: Path
) -> None:
    """StudyID is SH (16 characters); a modality that sends more is not cut in the index."""
    long_id, too_long = "CT-2026-12-02-000123-HEAD", "9" * 65
    [kept, refused] = write_series(Study(), tmp_path, 2)
    for path, value in ((kept, long_id), (refused, too_long)):
        data_set = pydicom.dcmread(path)
        data_set.StudyID = value
        data_set.save_as(path)
    assert send_file(sqlite_node, kept).Status == 0x0000
    assert send_file(sqlite_node, refused).Status == DATA_SET_DOES_NOT_MATCH
    with transaction(sqlite_node.platform.sessions) as session:
        [study] = session.scalars(select(DicomStudy)).all()
        assert study.study_id == long_id
