"""Find the stored instances a DICOMweb retrieve names (a study, a series or one instance),
limited to what the requester may see (``storage.policy.StudyAccess``)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import DicomInstance, DicomPatient, DicomSeries, DicomStudy
from storage.policy import StudyAccess


@dataclass(frozen=True, slots=True)
class InstanceRef:
    study_uid: str
    series_uid: str
    sop_instance_uid: str
    sop_class_uid: str
    transfer_syntax_uid: str
    object_key: str
    size: int
    number_of_frames: int | None
    frames: list[list[list[int]]] | None


def find_instances(
    session: Session,
    access: StudyAccess,
    study_uid: str,
    series_uid: str | None = None,
    sop_instance_uid: str | None = None,
) -> list[InstanceRef]:
    """In series and instance-number order; empty when nothing visible matches."""
    statement = (
        select(
            DicomStudy.study_uid,
            DicomSeries.series_uid,
            DicomInstance.sop_instance_uid,
            DicomInstance.sop_class_uid,
            DicomInstance.transfer_syntax_uid,
            DicomInstance.object_key,
            DicomInstance.size,
            DicomInstance.number_of_frames,
            DicomInstance.frames,
        )
        .join(DicomSeries, DicomSeries.series_uid == DicomInstance.series_uid)
        .join(DicomStudy, DicomStudy.study_uid == DicomSeries.study_uid)
        .where(
            DicomStudy.study_uid == study_uid,
            access.sees(DicomStudy.org_id, DicomStudy.study_uid),
        )
        .order_by(
            DicomSeries.series_number,
            DicomSeries.series_uid,
            DicomInstance.instance_number,
            DicomInstance.sop_instance_uid,
        )
    )
    if series_uid is not None:
        statement = statement.where(DicomSeries.series_uid == series_uid)
    if sop_instance_uid is not None:
        statement = statement.where(DicomInstance.sop_instance_uid == sop_instance_uid)
    return [InstanceRef(*row) for row in session.execute(statement)]


@dataclass(frozen=True, slots=True)
class SeriesRef:
    study_uid: str
    series_uid: str
    instance_count: int


def find_series(
    session: Session, access: StudyAccess, study_uid: str, series_uid: str | None = None
) -> list[SeriesRef]:
    statement = (
        select(DicomSeries.study_uid, DicomSeries.series_uid, DicomSeries.instance_count)
        .join(DicomStudy, DicomStudy.study_uid == DicomSeries.study_uid)
        .where(
            DicomStudy.study_uid == study_uid,
            access.sees(DicomStudy.org_id, DicomStudy.study_uid),
        )
        .order_by(DicomSeries.series_number, DicomSeries.series_uid)
    )
    if series_uid is not None:
        statement = statement.where(DicomSeries.series_uid == series_uid)
    return [SeriesRef(*row) for row in session.execute(statement)]


@dataclass(frozen=True, slots=True)
class StudyTree:
    """A study with its patient, series and instances (for building its ImagingStudy)."""

    study: DicomStudy
    patient: DicomPatient
    series: list[tuple[DicomSeries, list[DicomInstance]]]


def study_tree(session: Session, study_uid: str) -> StudyTree | None:
    study = session.get(DicomStudy, study_uid)
    if study is None:
        return None
    patient = session.get(DicomPatient, study.patient_pk)
    assert patient is not None
    series = list(
        session.scalars(
            select(DicomSeries)
            .where(DicomSeries.study_uid == study_uid)
            .order_by(DicomSeries.series_number, DicomSeries.series_uid)
        )
    )
    instances: dict[str, list[DicomInstance]] = {s.series_uid: [] for s in series}
    for instance in session.scalars(
        select(DicomInstance)
        .where(DicomInstance.series_uid.in_(instances))
        .order_by(DicomInstance.instance_number, DicomInstance.sop_instance_uid)
    ):
        instances[instance.series_uid].append(instance)
    return StudyTree(study, patient, [(s, instances[s.series_uid]) for s in series])
