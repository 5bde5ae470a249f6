"""Ingest one received DICOM file: the one code path behind C-STORE and STOW-RS.

Order (the durability contract): parse and hash the local file; write the object; commit the
object's row and the index rows in one transaction.  Only then is the sender told "stored".

Policy for what was seen before (documented in the README):

- same SOP Instance UID, same bytes: nothing is written; the sender gets success.
- same SOP Instance UID, other bytes: the received copy is kept as well (its own object, a
  ``dicom_conflicts`` row for admins); the index keeps serving the first copy until an admin
  decides; the sender gets success, because its data is safely stored and retrying cannot help.
- same PatientID from the same organization with other name/birth date/sex: a separate
  patient row (never merged) and a ``patient_identity`` conflict row.
- a Series Instance UID that is already a series of another study: refused
  (``InvalidInstance``), since the instance would be served as part of that study.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from storage.audit import audit
from storage.blobs import BlobInfo, BlobStore, store_object
from storage.db import transaction
from storage.dicom.parse import InvalidInstance, ParsedInstance, parse_instance, sha256_of
from storage.errors import DatabaseUnavailable
from storage.models import (
    ConflictKind,
    DicomConflict,
    DicomInstance,
    DicomPatient,
    DicomSeries,
    DicomStudy,
    utcnow,
)

INSERT_ATTEMPTS = 4


# The width of dicom_studies.modalities (storage.models.dicom).
MODALITIES_WIDTH = DicomStudy.modalities.type.length or 128


class Outcome(StrEnum):
    STORED = "stored"
    DUPLICATE = "duplicate"
    CONFLICT_KEPT = "conflict_kept"


@dataclass(frozen=True, slots=True)
class IngestResult:
    outcome: Outcome
    sop_instance_uid: str
    sop_class_uid: str
    study_uid: str
    series_uid: str


@dataclass(frozen=True, slots=True)
class Sender:
    org_id: str
    ae_title: str  # what the index's calling_ae keeps (an AE title: 16 characters)
    channel: str = "dicom"
    action: str = "C-STORE"
    actor: str | None = None  # who the access log names, when not the AE title (a client id)


class _AlreadyStored(Exception):
    def __init__(self, outcome: Outcome) -> None:
        self.outcome = outcome


def object_key(parsed: ParsedInstance) -> str:
    """``dicom/{study}/{series}/{sop}/{receipt}``: the receipt part keeps concurrent or
    conflicting copies of one instance apart, so no write can remove another's object."""
    return (
        f"dicom/{parsed.study_uid}/{parsed.series_uid}/{parsed.sop_instance_uid}/"
        f"{uuid.uuid4().hex[:16]}"
    )


def ingest_file(
    sessions: sessionmaker[Session],
    blobs: BlobStore,
    path: Path,
    sender: Sender,
    expected_sop_instance_uid: str | None = None,
    expected_study_uid: str | None = None,
) -> IngestResult:
    """Raises ``InvalidInstance`` for data that cannot be indexed (or is not of the expected
    study) and ``StorageError`` when the object store or the database cannot take it (the
    sender should retry later)."""
    parsed = parse_instance(path, expected_sop_instance_uid)
    if expected_study_uid is not None and parsed.study_uid != expected_study_uid:
        raise InvalidInstance(
            "instance belongs to another study",
            undecodable=False,
            sop_class_uid=parsed.sop_class_uid,
            sop_instance_uid=parsed.sop_instance_uid,
        )
    result = IngestResult(
        Outcome.STORED,
        parsed.sop_instance_uid,
        parsed.sop_class_uid,
        parsed.study_uid,
        parsed.series_uid,
    )
    for attempt in range(INSERT_ATTEMPTS):
        try:
            with transaction(sessions) as session:
                seen = _seen_before(session, parsed, path)
            return _with(result, seen or _store_once(sessions, blobs, path, parsed, sender))
        except _AlreadyStored as done:
            return _with(result, done.outcome)
        except IntegrityError as exc:
            # Another association inserted the same patient/study/series/instance first.
            if attempt == INSERT_ATTEMPTS - 1:
                raise DatabaseUnavailable("index rows kept colliding; try again") from exc
    raise AssertionError("unreachable")


def _store_once(
    sessions: sessionmaker[Session],
    blobs: BlobStore,
    path: Path,
    parsed: ParsedInstance,
    sender: Sender,
) -> Outcome:
    outcomes: list[Outcome] = []

    def index(session: Session, info: BlobInfo) -> None:
        outcomes.append(_index(session, info, parsed, sender))

    with open(path, "rb") as data:
        # The key is unique per receipt: no need to look for an object already under it.
        store_object(sessions, blobs, object_key(parsed), data, index, key_is_new=True)
    return outcomes[-1]


def _with(result: IngestResult, outcome: Outcome) -> IngestResult:
    return IngestResult(
        outcome, result.sop_instance_uid, result.sop_class_uid, result.study_uid, result.series_uid
    )


def _seen_before(session: Session, parsed: ParsedInstance, path: Path) -> Outcome | None:
    """A known SOP Instance UID: is this the same copy, or a conflicting copy kept before?
    (The received file is hashed here only then; a new instance is hashed while stored.)"""
    existing = session.get(DicomInstance, parsed.sop_instance_uid)
    if existing is None:
        return None
    sha256 = sha256_of(path)
    if existing.sha256 == sha256:
        return Outcome.DUPLICATE
    kept = session.scalars(
        select(DicomConflict.id).where(
            DicomConflict.sop_instance_uid == parsed.sop_instance_uid,
            DicomConflict.sha256 == sha256,
        )
    ).first()
    return Outcome.CONFLICT_KEPT if kept is not None else None


def _index(session: Session, info: BlobInfo, parsed: ParsedInstance, sender: Sender) -> Outcome:
    # The models carry no relationships, so rows are flushed parent first, by hand.
    session.flush()
    existing = session.get(DicomInstance, parsed.sop_instance_uid)
    if existing is not None:
        if existing.sha256 == info.sha256:
            raise _AlreadyStored(Outcome.DUPLICATE)
        session.add(
            DicomConflict(
                kind=ConflictKind.INSTANCE_CONTENT,
                org_id=sender.org_id,
                calling_ae=sender.ae_title,
                study_uid=parsed.study_uid,
                sop_instance_uid=parsed.sop_instance_uid,
                object_key=info.key,
                sha256=info.sha256,
                detail={
                    "indexed_sha256": existing.sha256,
                    "indexed_object_key": existing.object_key,
                },
            )
        )
        return Outcome.CONFLICT_KEPT
    now = utcnow()
    patient = _patient(session, parsed, sender)
    study = session.get(DicomStudy, parsed.study_uid)
    if study is None:
        study = DicomStudy(
            study_uid=parsed.study_uid,
            patient_pk=patient.id,
            org_id=sender.org_id,
            study_date=parsed.study_date,
            study_time=parsed.study_time,
            accession_number=parsed.accession_number,
            study_id=parsed.study_id,
            description=parsed.study_description,
            referring_physician=parsed.referring_physician,
            modalities="",
            series_count=0,
            instance_count=0,
            first_received_at=now,
        )
        session.add(study)
        session.flush()
    elif study.patient_pk != patient.id and not _open_flag(session, parsed.study_uid):
        _flag_patient(session, parsed, sender, study.patient_pk, patient.id, "study")
    series = session.get(DicomSeries, parsed.series_uid)
    if series is not None and series.study_uid != parsed.study_uid:
        # Indexed under that series, the instance would be served as part of the other
        # study (and to whoever may see it): a UID that names two things is refused.
        raise InvalidInstance(
            "SeriesInstanceUID is already a series of another study",
            undecodable=False,
            sop_class_uid=parsed.sop_class_uid,
            sop_instance_uid=parsed.sop_instance_uid,
        )
    if series is None:
        series = DicomSeries(
            series_uid=parsed.series_uid,
            study_uid=parsed.study_uid,
            modality=parsed.modality,
            series_number=parsed.series_number,
            description=parsed.series_description,
            body_part=parsed.body_part,
            series_date=parsed.series_date,
            series_time=parsed.series_time,
            instance_count=0,
        )
        session.add(series)
        session.flush()
        study.series_count += 1
    modalities = [m for m in study.modalities.split("\\") if m]
    if parsed.modality and parsed.modality not in modalities:
        joined = "\\".join(sorted([*modalities, parsed.modality]))
        # ModalitiesInStudy keeps what its column holds (seven of the longest codes); a study of
        # more kinds of series is still stored and found by its other keys.
        if len(joined) <= MODALITIES_WIDTH:
            study.modalities = joined
    series.instance_count += 1
    study.instance_count += 1
    study.last_received_at = now
    session.add(
        DicomInstance(
            sop_instance_uid=parsed.sop_instance_uid,
            series_uid=parsed.series_uid,
            sop_class_uid=parsed.sop_class_uid,
            instance_number=parsed.instance_number,
            transfer_syntax_uid=parsed.transfer_syntax_uid,
            object_key=info.key,
            size=info.size,
            sha256=info.sha256,
            org_id=sender.org_id,
            calling_ae=sender.ae_title,
            received_at=now,
            rows=parsed.rows,
            columns=parsed.columns,
            number_of_frames=parsed.number_of_frames,
            frames=parsed.frames,
        )
    )
    audit(
        session,
        channel=sender.channel,
        actor=sender.actor or sender.ae_title,
        actor_org_id=sender.org_id,
        action=sender.action,
        outcome="success",
        study_uid=parsed.study_uid,
        sop_instance_uid=parsed.sop_instance_uid,
    )
    return Outcome.STORED


def _patient(session: Session, parsed: ParsedInstance, sender: Sender) -> DicomPatient:
    same_id = list(
        session.scalars(
            select(DicomPatient).where(
                DicomPatient.org_id == sender.org_id, DicomPatient.patient_id == parsed.patient_id
            )
        )
    )
    demographics = (parsed.patient_name, parsed.birth_date, parsed.sex)
    for candidate in same_id:
        if (candidate.name, candidate.birth_date, candidate.sex) == demographics:
            return candidate
    patient = DicomPatient(
        org_id=sender.org_id,
        patient_id=parsed.patient_id,
        name=parsed.patient_name,
        birth_date=parsed.birth_date,
        sex=parsed.sex,
    )
    session.add(patient)
    session.flush()
    if same_id and parsed.patient_id:
        _flag_patient(session, parsed, sender, same_id[0].id, patient.id, "patient_id")
    return patient


def _open_flag(session: Session, study_uid: str) -> bool:
    return (
        session.scalars(
            select(DicomConflict.id).where(
                DicomConflict.kind == ConflictKind.PATIENT_IDENTITY,
                DicomConflict.study_uid == study_uid,
                DicomConflict.resolved_at.is_(None),
            )
        ).first()
        is not None
    )


def _flag_patient(
    session: Session,
    parsed: ParsedInstance,
    sender: Sender,
    known_pk: int,
    received_pk: int,
    scope: str,
) -> None:
    session.add(
        DicomConflict(
            kind=ConflictKind.PATIENT_IDENTITY,
            org_id=sender.org_id,
            calling_ae=sender.ae_title,
            study_uid=parsed.study_uid,
            sop_instance_uid=parsed.sop_instance_uid,
            detail={"scope": scope, "known_patient": known_pk, "received_patient": received_pk},
        )
    )
