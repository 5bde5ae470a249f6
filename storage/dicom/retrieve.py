"""Find the stored instances a DICOMweb retrieve names (a study, a series or one instance),
limited to what the requester may see (``storage.policy.StudyAccess``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import JSON, Select, bindparam, or_, select
from sqlalchemy.orm import Session

from storage.db import execute_plain
from storage.dicom.parse import FrameRanges
from storage.models import DicomInstance, DicomPatient, DicomSeries, DicomStudy
from storage.policy import StudyAccess

# Frames asked for at once whose ranges the database picks out; more: the whole list is read.
MAX_PICKED_FRAMES = 32


@dataclass(frozen=True, slots=True)
class InstanceRef:
    """An instance as the index has it.  ``frames``: per frame, the byte ranges of its pixel
    data in the stored object (``DicomInstance.frames``) — of every frame, or, when
    ``find_instances`` was given frame numbers, of those frames in the order asked; None when
    the index has no ranges (or not for every frame asked)."""

    study_uid: str
    series_uid: str
    sop_instance_uid: str
    sop_class_uid: str
    transfer_syntax_uid: str
    object_key: str
    size: int
    number_of_frames: int | None
    frames: FrameRanges | None


def find_instances(
    session: Session,
    access: StudyAccess,
    study_uid: str,
    series_uid: str | None = None,
    sop_instance_uid: str | None = None,
    frame_numbers: Sequence[int] | None = None,
) -> list[InstanceRef]:
    """In series and instance-number order; empty when nothing visible matches.

    ``frame_numbers`` (1-based): read the ranges of only these frames.  A level of a
    whole-slide image has tens of thousands of frames, and a viewer asks for them one by one:
    the database picks the entries out of the stored list (JSON path access) instead of the
    whole list being sent and decoded for each."""
    picked = list(dict.fromkeys(frame_numbers or ()))
    if len(picked) > MAX_PICKED_FRAMES:
        picked = []  # as many as that: the whole list at once
    shape = (
        len(picked),
        series_uid is not None,
        sop_instance_uid is not None,
        bool(access.studies),
    )
    parameters: dict[str, Any] = {
        "study": study_uid,
        "series": series_uid,
        "instance": sop_instance_uid,
        "orgs": sorted(access.orgs),
        "shared": sorted(access.studies),
        **{f"frame{k}": n - 1 for k, n in enumerate(picked)},
    }
    found = []
    for row in execute_plain(session, _statement(*shape), parameters):
        frames = _frames_asked(row[8:], picked, frame_numbers)
        found.append(InstanceRef(*row[:8], frames))  # type: ignore[arg-type]
    return found


@cache
def _statement(picked: int, by_series: bool, by_instance: bool, shared: bool) -> Select[Any]:
    """The statement of one shape of request, built once: SQLAlchemy builds a statement in
    Python, which cost a frame request more than the database's answer."""
    ranges = (
        [DicomInstance.frames[bindparam(f"frame{k}", type_=JSON.JSONIntIndexType)]
         for k in range(picked)]
        if picked
        else [DicomInstance.frames]
    )  # fmt: skip
    visible = DicomStudy.org_id.in_(bindparam("orgs", expanding=True))
    if shared:
        visible = or_(visible, DicomStudy.study_uid.in_(bindparam("shared", expanding=True)))
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
            *ranges,
        )
        .join(DicomSeries, DicomSeries.series_uid == DicomInstance.series_uid)
        .join(DicomStudy, DicomStudy.study_uid == DicomSeries.study_uid)
        .where(DicomStudy.study_uid == bindparam("study"), visible)
        .order_by(
            DicomSeries.series_number,
            DicomSeries.series_uid,
            DicomInstance.instance_number,
            DicomInstance.sop_instance_uid,
        )
    )
    if by_series:
        statement = statement.where(DicomSeries.series_uid == bindparam("series"))
    if by_instance:
        statement = statement.where(DicomInstance.sop_instance_uid == bindparam("instance"))
    return statement


def _frames_asked(
    values: Sequence[Any], picked: list[int], frame_numbers: Sequence[int] | None
) -> FrameRanges | None:
    """The ranges of the frames asked for, in their order (all frames when none were)."""
    if picked:
        by_number = dict(zip(picked, values, strict=True))
        chosen = [by_number[n] for n in frame_numbers or ()]
    else:
        every = values[0]
        if frame_numbers is None or every is None:
            return every
        if any(not 1 <= n <= len(every) for n in frame_numbers):
            return None
        chosen = [every[n - 1] for n in frame_numbers]
    return None if any(c is None for c in chosen) else chosen


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
