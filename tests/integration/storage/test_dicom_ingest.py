"""Ingest: object first, then index rows; duplicates, conflicts and identity flags."""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from storage.blobs import BlobStore
from storage.db import transaction
from storage.dicom import Sender, ingest_file
from storage.dicom.ingest import Outcome
from storage.models import (
    ConflictKind,
    DicomConflict,
    DicomInstance,
    DicomPatient,
    DicomStudy,
    Organization,
    OrgKind,
    StoredObject,
)
from tests.dicom_data import Patient, Study, instance, write_series

SENDER = Sender("clinic", "CLINIC_CT1")


@pytest.fixture
def org(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as session:
        session.add(
            Organization(
                id="clinic", name="卫生院", kind=OrgKind.TOWNSHIP_HEALTH_CENTRE, national_id="1"
            )
        )


def count(sessions: sessionmaker[Session], model: type) -> int:
    with transaction(sessions) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


@pytest.mark.usefixtures("org")
def test_series_is_indexed_and_stored_byte_for_byte(
    sessions: sessionmaker[Session], blob_store: BlobStore, tmp_path: Path
) -> None:
    study = Study()
    paths = write_series(study, tmp_path, 3)
    for path in paths:
        assert ingest_file(sessions, blob_store, path, SENDER).outcome is Outcome.STORED
    with transaction(sessions) as session:
        row = session.get(DicomStudy, study.study_uid)
        assert row is not None
        assert (row.instance_count, row.series_count, row.modalities) == (3, 1, "CT")
        for path in paths:
            stored = session.get(DicomInstance, pydicom.dcmread(path).SOPInstanceUID)
            assert stored is not None
            assert stored.org_id == "clinic"
            assert stored.calling_ae == "CLINIC_CT1"
            assert b"".join(blob_store.get(stored.object_key)) == path.read_bytes()


@pytest.mark.usefixtures("org")
def test_identical_resend_is_a_no_op(
    sessions: sessionmaker[Session], blob_store: BlobStore, tmp_path: Path
) -> None:
    [path] = write_series(Study(), tmp_path, 1)
    ingest_file(sessions, blob_store, path, SENDER)
    assert ingest_file(sessions, blob_store, path, SENDER).outcome is Outcome.DUPLICATE
    assert count(sessions, StoredObject) == 1
    assert len(list(blob_store.list("dicom/"))) == 1


@pytest.mark.usefixtures("org")
def test_same_uid_other_content_keeps_both_and_flags_it(
    sessions: sessionmaker[Session], blob_store: BlobStore, tmp_path: Path
) -> None:
    study = Study()
    first = instance(study, "1.2.3.4", 1, pixel_seed=1)
    second = instance(study, "1.2.3.4", 1, sop_uid=first.SOPInstanceUID, pixel_seed=2)
    first.save_as(tmp_path / "a.dcm", enforce_file_format=True)
    second.save_as(tmp_path / "b.dcm", enforce_file_format=True)
    assert ingest_file(sessions, blob_store, tmp_path / "a.dcm", SENDER).outcome is Outcome.STORED
    kept = ingest_file(sessions, blob_store, tmp_path / "b.dcm", SENDER)
    assert kept.outcome is Outcome.CONFLICT_KEPT
    # The same conflicting copy again adds nothing.
    again = ingest_file(sessions, blob_store, tmp_path / "b.dcm", SENDER)
    assert again.outcome is Outcome.CONFLICT_KEPT
    with transaction(sessions) as session:
        [conflict] = session.scalars(select(DicomConflict)).all()
        assert conflict.kind == ConflictKind.INSTANCE_CONTENT
        indexed = session.get(DicomInstance, str(first.SOPInstanceUID))
        assert indexed is not None
        assert b"".join(blob_store.get(indexed.object_key)) == (tmp_path / "a.dcm").read_bytes()
        assert conflict.object_key is not None
        assert b"".join(blob_store.get(conflict.object_key)) == (tmp_path / "b.dcm").read_bytes()
    assert count(sessions, DicomInstance) == 1


@pytest.mark.usefixtures("org")
def test_same_patient_id_other_name_is_flagged_not_merged(
    sessions: sessionmaker[Session], blob_store: BlobStore, tmp_path: Path
) -> None:
    ingest_file(sessions, blob_store, write_series(Study(), tmp_path / "a", 1)[0], SENDER)
    other = Study(patient=Patient(name="Li^Si=李^四"))
    ingest_file(sessions, blob_store, write_series(other, tmp_path / "b", 1)[0], SENDER)
    assert count(sessions, DicomPatient) == 2
    with transaction(sessions) as session:
        [flag] = session.scalars(select(DicomConflict)).all()
        assert flag.kind == ConflictKind.PATIENT_IDENTITY
        assert flag.study_uid == other.study_uid


@pytest.mark.usefixtures("org")
def test_a_study_of_more_modalities_than_its_column_holds_is_still_stored(
    sessions: sessionmaker[Session], blob_store: BlobStore, tmp_path: Path
) -> None:
    study = Study()
    kinds = [f"MODALITY{n:08d}" for n in range(9)]  # 16 characters each: 9 do not fit 128
    for kind in kinds:
        [path] = write_series(study, tmp_path / kind, 1)
        data_set = pydicom.dcmread(path)
        data_set.Modality = kind  # a sender's own code, at the width the VR (CS) allows
        data_set.save_as(path)
        assert ingest_file(sessions, blob_store, path, SENDER).outcome is Outcome.STORED
    with transaction(sessions) as session:
        row = session.get(DicomStudy, study.study_uid)
        assert row is not None
        assert row.instance_count == 9
        assert row.modalities == "\\".join(kinds[:7])
