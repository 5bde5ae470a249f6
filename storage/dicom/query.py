"""Query the DICOM index as C-FIND and QIDO-RS ask (PS3.4 C.2.2 attribute matching).

Matching: an empty key is universal (returned, not matched); a value with ``*``/``?`` is a
wildcard match; ``a-b``, ``-b`` and ``a-`` on dates and times are ranges; a backslash-separated
list of UIDs matches any of them; anything else is a single-value match (case-insensitive for
person names).  Sequence matching is not supported: sequence keys come back empty.
Every query is limited to the studies the requester may see (``storage.policy.StudyAccess``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydicom.datadict import dictionary_VR
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from sqlalchemy import ColumnElement, Select, and_, false, func, literal, or_, select
from sqlalchemy.orm import Session

from storage.models import DicomInstance, DicomPatient, DicomSeries, DicomStudy
from storage.policy import StudyAccess

_ESCAPE = "!"


class Level(StrEnum):
    PATIENT = "PATIENT"
    STUDY = "STUDY"
    SERIES = "SERIES"
    IMAGE = "IMAGE"


class Kind(StrEnum):
    TEXT = "text"
    PERSON_NAME = "pn"
    DATE = "date"
    TIME = "time"
    UID = "uid"
    NUMBER = "number"
    MODALITIES = "modalities"
    COUNT = "count"  # computed: returned, never matched


class QueryError(ValueError):
    """The identifier cannot be answered (unknown level, bad value): a failure status."""


@dataclass(frozen=True, slots=True)
class Attr:
    column: Any
    kind: Kind
    level: Level


def _attrs(level: Level, kind_of: dict[str, tuple[Any, Kind]]) -> dict[str, Attr]:
    return {keyword: Attr(column, kind, level) for keyword, (column, kind) in kind_of.items()}


ATTRIBUTES: dict[str, Attr] = {
    **_attrs(
        Level.PATIENT,
        {
            "PatientID": (DicomPatient.patient_id, Kind.TEXT),
            "PatientName": (DicomPatient.name, Kind.PERSON_NAME),
            "PatientBirthDate": (DicomPatient.birth_date, Kind.DATE),
            "PatientSex": (DicomPatient.sex, Kind.TEXT),
            # PatientIDs are issued by the member that examined: its organization id.
            "IssuerOfPatientID": (DicomPatient.org_id, Kind.TEXT),
            "NumberOfPatientRelatedStudies": (None, Kind.COUNT),
            "NumberOfPatientRelatedSeries": (None, Kind.COUNT),
            "NumberOfPatientRelatedInstances": (None, Kind.COUNT),
        },
    ),
    **_attrs(
        Level.STUDY,
        {
            "StudyInstanceUID": (DicomStudy.study_uid, Kind.UID),
            "StudyDate": (DicomStudy.study_date, Kind.DATE),
            "StudyTime": (DicomStudy.study_time, Kind.TIME),
            "AccessionNumber": (DicomStudy.accession_number, Kind.TEXT),
            "StudyID": (DicomStudy.study_id, Kind.TEXT),
            "StudyDescription": (DicomStudy.description, Kind.TEXT),
            "ReferringPhysicianName": (DicomStudy.referring_physician, Kind.PERSON_NAME),
            "ModalitiesInStudy": (DicomStudy.modalities, Kind.MODALITIES),
            "NumberOfStudyRelatedSeries": (DicomStudy.series_count, Kind.COUNT),
            "NumberOfStudyRelatedInstances": (DicomStudy.instance_count, Kind.COUNT),
        },
    ),
    **_attrs(
        Level.SERIES,
        {
            "SeriesInstanceUID": (DicomSeries.series_uid, Kind.UID),
            "Modality": (DicomSeries.modality, Kind.TEXT),
            "SeriesNumber": (DicomSeries.series_number, Kind.NUMBER),
            "SeriesDescription": (DicomSeries.description, Kind.TEXT),
            "BodyPartExamined": (DicomSeries.body_part, Kind.TEXT),
            "SeriesDate": (DicomSeries.series_date, Kind.DATE),
            "SeriesTime": (DicomSeries.series_time, Kind.TIME),
            "NumberOfSeriesRelatedInstances": (DicomSeries.instance_count, Kind.COUNT),
        },
    ),
    **_attrs(
        Level.IMAGE,
        {
            "SOPInstanceUID": (DicomInstance.sop_instance_uid, Kind.UID),
            "SOPClassUID": (DicomInstance.sop_class_uid, Kind.UID),
            "InstanceNumber": (DicomInstance.instance_number, Kind.NUMBER),
            "Rows": (DicomInstance.rows, Kind.NUMBER),
            "Columns": (DicomInstance.columns, Kind.NUMBER),
            "NumberOfFrames": (DicomInstance.number_of_frames, Kind.NUMBER),
        },
    ),
}
_ORDER = [Level.PATIENT, Level.STUDY, Level.SERIES, Level.IMAGE]
_ENTITY = {
    Level.PATIENT: DicomPatient,
    Level.STUDY: DicomStudy,
    Level.SERIES: DicomSeries,
    Level.IMAGE: DicomInstance,
}


# Answers in a reader's order (and stable for paging): studies newest first, series and
# images by their numbers.
_ORDERING: dict[Level, list[Any]] = {
    Level.STUDY: [
        DicomStudy.study_date.desc(),
        DicomStudy.study_time.desc(),
        DicomStudy.study_uid,
    ],
    Level.SERIES: [DicomSeries.study_uid, DicomSeries.series_number, DicomSeries.series_uid],
    Level.IMAGE: [
        DicomInstance.series_uid,
        DicomInstance.instance_number,
        DicomInstance.sop_instance_uid,
    ],
}


def parse_level(identifier: Dataset, allowed: tuple[Level, ...] = tuple(_ORDER)) -> Level:
    text = str(identifier.get("QueryRetrieveLevel", "")).strip().upper()
    try:
        level = Level(text)
    except ValueError:
        raise QueryError(f"unknown QueryRetrieveLevel {text!r}") from None
    if level not in allowed:
        raise QueryError(f"QueryRetrieveLevel {text} is not in this information model")
    return level


def _base(level: Level) -> Select[Any]:
    """Rows of ``level`` joined to every level above it."""
    statement: Select[Any] = select(_ENTITY[level])
    if level is Level.PATIENT:
        return statement
    if level is Level.IMAGE:
        statement = statement.join(DicomSeries, DicomSeries.series_uid == DicomInstance.series_uid)
    if level in (Level.SERIES, Level.IMAGE):
        statement = statement.join(DicomStudy, DicomStudy.study_uid == DicomSeries.study_uid)
    return statement.join(DicomPatient, DicomPatient.id == DicomStudy.patient_pk)


def _visible(statement: Select[Any], level: Level, access: StudyAccess | None) -> Select[Any]:
    if access is None:
        return statement
    if level is Level.PATIENT:  # by organization: only the DICOM node asks at this level
        return statement.where(DicomPatient.org_id.in_(access.orgs))
    return statement.where(access.sees(DicomStudy.org_id, DicomStudy.study_uid))


def _values(element: DataElement) -> list[str]:
    value = element.value
    if value is None or value == "":
        return []
    items = list(value) if isinstance(value, MultiValue | list | tuple) else [value]
    return [str(v).strip() for v in items if str(v).strip()]


def _like(text: str) -> str:
    escaped = (
        text.replace(_ESCAPE, _ESCAPE * 2).replace("%", _ESCAPE + "%").replace("_", _ESCAPE + "_")
    )
    return escaped.replace("*", "%").replace("?", "_")


def _text_match(column: Any, value: str, fold: bool) -> ColumnElement[bool]:
    target = func.lower(column) if fold else column
    value = value.lower() if fold else value
    if "*" in value or "?" in value:
        return target.like(_like(value), escape=_ESCAPE)
    return target == value


def _range_match(column: Any, value: str) -> ColumnElement[bool]:
    if "-" not in value:
        return column == value
    low, high = (part.strip() for part in value.split("-", 1))
    if not low and not high:
        raise QueryError(f"empty range {value!r}")
    clauses = [column != ""]
    if low:
        clauses.append(column >= low)
    if high:
        # A time bound "1000" includes 10:00:59.9: compare as a prefix.
        clauses.append(
            column <= high if len(high) >= 8 else func.substr(column, 1, len(high)) <= high
        )
    return and_(*clauses)


def _condition(attr: Attr, keyword: str, value: str) -> ColumnElement[bool] | None:
    values = [v.strip() for v in value.split("\\") if v.strip()]
    if not values or attr.kind is Kind.COUNT:
        return None
    column = attr.column
    if attr.kind is Kind.UID:
        return column.in_(values)
    if attr.kind is Kind.MODALITIES:
        wrapped = literal("\\") + column + literal("\\")
        return or_(*(wrapped.like(f"%\\{_like(v)}\\%", escape=_ESCAPE) for v in values))
    value = "\\".join(values)
    if attr.kind in (Kind.DATE, Kind.TIME):
        return _range_match(column, value)
    if attr.kind is Kind.NUMBER:
        try:
            return column == int(value)
        except ValueError:
            raise QueryError(f"{keyword} must be a number") from None
    return _text_match(column, value, fold=attr.kind is Kind.PERSON_NAME)


def _keys(identifier: Dataset) -> list[DataElement]:
    return [identifier[tag] for tag in identifier.keys()]  # noqa: SIM118


def matching_keys(identifier: Dataset) -> dict[str, str]:
    """The identifier's indexed keys as ``keyword -> value`` (multiple values joined by ``\\``;
    an empty value: returned, not matched)."""
    return {
        element.keyword: "\\".join(_values(element))
        for element in _keys(identifier)
        if element.keyword in ATTRIBUTES
    }


# A patient as (issuing organization, PatientID); None: issued by any organization.
PatientKey = tuple[str | None, str]


def _filtered(
    level: Level,
    keys: dict[str, str],
    access: StudyAccess | None,
    patients: Collection[PatientKey] | None = None,
) -> Select[Any]:
    statement = _visible(_base(level), level, access)
    if patients is not None:
        statement = statement.where(
            or_(
                false(),
                *(
                    and_(DicomPatient.org_id == org, DicomPatient.patient_id == patient_id)
                    if org is not None
                    else DicomPatient.patient_id == patient_id
                    for org, patient_id in patients
                ),
            )
        )
    depth = _ORDER.index(level)
    for keyword, value in keys.items():
        attr = ATTRIBUTES.get(keyword)
        if attr is None or _ORDER.index(attr.level) > depth:
            continue
        condition = _condition(attr, keyword, value)
        if condition is not None:
            statement = statement.where(condition)
    return statement


def find(
    session: Session,
    level: Level,
    identifier: Dataset,
    access: StudyAccess | None,
    *,
    limit: int | None = None,
    offset: int = 0,
) -> Iterator[Dataset]:
    """Yield one response identifier per match, with exactly the requested keys."""
    keys = matching_keys(identifier)
    for values in find_values(session, level, keys, access, limit=limit, offset=offset):
        yield _answer(level, identifier, values)


def find_values(
    session: Session,
    level: Level,
    keys: dict[str, str],
    access: StudyAccess | None,
    *,
    limit: int | None = None,
    offset: int = 0,
    patients: Collection[PatientKey] | None = None,
) -> Iterator[dict[str, Any]]:
    """Per match, the indexed value (or None) of every key (``keyword -> match value``);
    ``patients``: only theirs (e.g. the patients a 身份证号 names, found by the caller)."""
    statement = _filtered(level, keys, access, patients)
    entity = _ENTITY[level]
    if level is not Level.PATIENT:
        statement = statement.add_columns(DicomStudy, DicomPatient)
        if level is Level.IMAGE:
            statement = statement.add_columns(DicomSeries)
    statement = statement.order_by(*_ORDERING.get(level, entity.__table__.primary_key.columns))
    statement = statement.offset(offset)
    if limit is not None:
        statement = statement.limit(limit)
    keywords = [keyword for keyword in keys if keyword in ATTRIBUTES]
    for row in session.execute(statement):
        rows = {type(item): item for item in row}
        yield {keyword: _value_of(session, keyword, level, rows) for keyword in keywords}


def _answer(level: Level, identifier: Dataset, values: dict[str, Any]) -> Dataset:
    answer = Dataset()
    answer.SpecificCharacterSet = "ISO_IR 192"
    for element in _keys(identifier):
        if element.keyword == "SpecificCharacterSet":
            continue
        if element.keyword == "QueryRetrieveLevel":
            answer.QueryRetrieveLevel = level.value
            continue
        value = values.get(element.keyword)
        vr = element.VR if element.VR not in ("UN", "") else _vr(element)
        answer.add_new(element.tag, vr, value if value not in (None, "") else None)
    return answer


def _vr(element: DataElement) -> str:
    try:
        return dictionary_VR(element.tag)
    except KeyError:
        return "UN"


def _value_of(session: Session, keyword: str, level: Level, rows: dict[type, Any]) -> Any:
    attr = ATTRIBUTES.get(keyword)
    if attr is None or _ORDER.index(attr.level) > _ORDER.index(level):
        return None
    if attr.kind is Kind.COUNT and attr.level is Level.PATIENT:
        return _patient_count(session, keyword, rows[DicomPatient])
    row = rows[_ENTITY[attr.level]]
    value = getattr(row, attr.column.key)
    if attr.kind is Kind.MODALITIES:
        return [m for m in value.split("\\") if m]
    return value


def _patient_count(session: Session, keyword: str, patient: DicomPatient) -> int:
    column = {
        "NumberOfPatientRelatedStudies": func.count(),
        "NumberOfPatientRelatedSeries": func.sum(DicomStudy.series_count),
        "NumberOfPatientRelatedInstances": func.sum(DicomStudy.instance_count),
    }[keyword]
    return int(session.scalar(select(column).where(DicomStudy.patient_pk == patient.id)) or 0)


@dataclass(frozen=True, slots=True)
class StoredInstance:
    sop_instance_uid: str
    sop_class_uid: str
    transfer_syntax_uid: str
    object_key: str
    study_uid: str


def instances_matching(
    session: Session, level: Level, identifier: Dataset, access: StudyAccess | None
) -> list[StoredInstance]:
    """The instances a C-MOVE / C-GET identifier designates (its keys at ``level`` and above)."""
    depth = _ORDER.index(level)
    keys = {
        keyword: value
        for keyword, value in matching_keys(identifier).items()
        if _ORDER.index(ATTRIBUTES[keyword].level) <= depth
    }
    statement = _filtered(Level.IMAGE, keys, access)
    statement = statement.with_only_columns(
        DicomInstance.sop_instance_uid,
        DicomInstance.sop_class_uid,
        DicomInstance.transfer_syntax_uid,
        DicomInstance.object_key,
        DicomStudy.study_uid,
    ).order_by(DicomStudy.study_uid, DicomSeries.series_uid, DicomInstance.instance_number)
    return [StoredInstance(*row) for row in session.execute(statement)]
