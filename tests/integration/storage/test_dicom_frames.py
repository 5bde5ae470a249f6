"""A frame retrieve reads the ranges of the frames it asks for, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest
from pydicom.encaps import generate_frames
from pydicom.uid import generate_uid
from sqlalchemy.orm import Session, sessionmaker

from storage.blobs.fs import FileBlobStore
from storage.db import transaction
from storage.dicom import Sender, find_instances, ingest_file
from storage.dicom.retrieve import MAX_PICKED_FRAMES
from storage.models import Organization, OrgKind
from storage.policy import StudyAccess
from tests.dicom_data import copy_of_sample

ACCESS = StudyAccess(frozenset({"clinic"}))


@pytest.fixture
def stored(sessions: sessionmaker[Session], tmp_path: Path) -> tuple[FileBlobStore, str, Path]:
    """The 30-frame JPEG sample, stored; its study's UID and the file sent."""
    with transaction(sessions) as session:
        session.add(
            Organization(
                id="clinic", name="卫生院", kind=OrgKind.TOWNSHIP_HEALTH_CENTRE, national_id="1"
            )
        )
    blobs = FileBlobStore(tmp_path / "objects")
    study_uid = generate_uid()
    path = copy_of_sample("examples_ybr_color.dcm", tmp_path / "in", study_uid, generate_uid())
    ingest_file(sessions, blobs, path, Sender("clinic", "CLINIC_US1"))
    return blobs, study_uid, path


def frame_bytes(blobs: FileBlobStore, key: str, ranges: list[list[int]]) -> bytes:
    return b"".join(blobs.read_range(key, at, length) for at, length in ranges)


def test_the_frames_asked_for_come_back_in_their_order(
    sessions: sessionmaker[Session], stored: tuple[FileBlobStore, str, Path]
) -> None:
    blobs, study_uid, path = stored
    expected = list(generate_frames(pydicom.dcmread(path).PixelData, number_of_frames=30))
    with transaction(sessions) as session:
        [ref] = find_instances(session, ACCESS, study_uid, frame_numbers=[30, 1, 7, 1])
        [whole] = find_instances(session, ACCESS, study_uid)
    assert ref.frames is not None
    assert [frame_bytes(blobs, ref.object_key, r) for r in ref.frames] == [
        expected[29],
        expected[0],
        expected[6],
        expected[0],
    ]
    assert whole.frames is not None
    assert len(whole.frames) == 30


def test_a_frame_past_the_last_has_no_ranges_and_many_frames_read_the_whole_list(
    sessions: sessionmaker[Session], stored: tuple[FileBlobStore, str, Path]
) -> None:
    blobs, study_uid, path = stored
    expected = list(generate_frames(pydicom.dcmread(path).PixelData, number_of_frames=30))
    many = [n % 30 + 1 for n in range(MAX_PICKED_FRAMES + 5)]
    with transaction(sessions) as session:
        [past] = find_instances(session, ACCESS, study_uid, frame_numbers=[2, 31])
        [ref] = find_instances(session, ACCESS, study_uid, frame_numbers=many)
    assert past.frames is None
    assert past.number_of_frames == 30
    assert ref.frames is not None
    assert [frame_bytes(blobs, ref.object_key, r) for r in ref.frames] == [
        expected[n - 1] for n in many
    ]
