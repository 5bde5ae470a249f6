"""QIDO-RS (PS3.18 10.6): search studies, series and instances, matched as C-FIND matches
(``storage.dicom.query``): wildcards, date ranges, UID lists.

Two keys name what Yilian keeps beside the index: ``IssuerOfPatientID`` (0010,0021) is the
member organization that issued the PatientID (the study browser's organization filter), and
``OtherPatientIDsSequence.PatientID`` (``00101002.00100020``) a 居民身份证号 — matched as the
PatientIDs of the member Patients (FHIR) the requester may see that carry it, and as a PatientID
itself (clinics that use it as one).  Whatever is asked, only the studies of organizations the
requester may see are answered (``storage.policy``)."""

from __future__ import annotations

from typing import Any

from pydicom.datadict import dictionary_VR, keyword_for_tag, tag_for_keyword
from pydicom.tag import Tag
from sqlalchemy.orm import Session
from starlette.datastructures import QueryParams

from gateway.errors import BadRequest
from gateway.fhir.imaging_study import patient_id_system
from storage.dicom import ATTRIBUTES, Kind, Level, QueryError, find_values
from storage.fhir import all_by_identifier
from storage.identity_numbers import ID_CARD
from storage.policy import StudyAccess, Viewer, fhir_viewer

_ORDER = [Level.PATIENT, Level.STUDY, Level.SERIES, Level.IMAGE]
MAX_LIMIT = 1000

# PS3.18 Table 10.6.3-3: returned by default, per level.
DEFAULTS = {
    Level.STUDY: [
        "StudyDate", "StudyTime", "AccessionNumber", "ModalitiesInStudy",
        "ReferringPhysicianName", "PatientName", "PatientID", "PatientBirthDate", "PatientSex",
        "StudyInstanceUID", "StudyID", "NumberOfStudyRelatedSeries",
        "NumberOfStudyRelatedInstances",
    ],
    Level.SERIES: [
        "StudyInstanceUID", "Modality", "SeriesDescription", "SeriesInstanceUID", "SeriesNumber",
        "NumberOfSeriesRelatedInstances",
    ],
    Level.IMAGE: [
        "StudyInstanceUID", "SeriesInstanceUID", "SOPClassUID", "SOPInstanceUID",
        "InstanceNumber", "Rows", "Columns", "NumberOfFrames",
    ],
}  # fmt: skip
CONTROL = {"includefield", "limit", "offset", "fuzzymatching"}
ID_NUMBER_KEYS = {"OtherPatientIDsSequence.PatientID", "00101002.00100020"}
MEMBER_PATIENT_IDS = patient_id_system("")  # + the issuing organization's id
INSTANCE_AVAILABILITY = "00080056"
RETRIEVE_URL = "00081190"


class Query:
    """A QIDO request as a C-FIND identifier plus paging, and what to warn about."""

    def __init__(self, level: Level, params: QueryParams, path_keys: dict[str, str]) -> None:
        self.level = level
        self.warnings: list[str] = []
        self.limit = _int(params.get("limit"), "limit", MAX_LIMIT)
        self.offset = _int(params.get("offset"), "offset", 0) or 0
        if params.get("fuzzymatching", "false").lower() == "true":
            self.warnings.append(
                "The fuzzymatching parameter is not supported. "
                "Only literal matching has been performed."
            )
        self.keys: dict[str, str] = {}
        self.id_number: str | None = None
        for keyword in DEFAULTS[level]:
            self._add(keyword, "")
        for value in params.getlist("includefield"):
            for field in value.split(","):
                if field.strip().lower() == "all":
                    for keyword, attr in ATTRIBUTES.items():
                        if _ORDER.index(attr.level) <= _ORDER.index(level):
                            self._add(keyword, "")
                elif field.strip():
                    self._include(field.strip())
        for name, value in params.multi_items():
            if name not in CONTROL:
                self._match(name, value)
        for keyword, value in path_keys.items():
            self._add(keyword, value)

    def _include(self, field: str) -> None:
        keyword = _keyword(field)
        if keyword in ATTRIBUTES:
            self._add(keyword, "")
        else:
            self.warnings.append(f"{field} is not indexed and is not returned")

    def _match(self, name: str, value: str) -> None:
        if name in ID_NUMBER_KEYS:
            if self.level is Level.PATIENT or not value.strip():
                raise BadRequest(f"{name} needs a value and a study, series or instance level")
            self.id_number = value.strip().upper()
            return
        keyword = _keyword(name)
        attr = ATTRIBUTES.get(keyword)
        if attr is None:
            self.warnings.append(f"matching on {name} is not supported; it was ignored")
            return
        if _ORDER.index(attr.level) > _ORDER.index(self.level):
            raise BadRequest(f"{name} cannot be matched at {self.level.value.lower()} level")
        if attr.kind in (Kind.UID, Kind.MODALITIES):
            value = value.replace(",", "\\")
        self._add(keyword, value)

    def _add(self, keyword: str, value: str) -> None:
        self.keys[keyword] = value


def _keyword(field: str) -> str:
    """``PatientID`` or ``00100020`` -> the keyword; sequence paths are not supported."""
    if len(field) == 8 and all(c in "0123456789abcdefABCDEF" for c in field):
        keyword = keyword_for_tag(Tag(int(field, 16)))
        if keyword:
            return keyword
    if tag_for_keyword(field) is not None:
        return field
    raise BadRequest(f"unknown attribute {field!r}")


def _int(text: str | None, name: str, maximum: int | None) -> int | None:
    if text is None or text == "":
        return maximum
    if not (text.isascii() and text.isdigit()) or len(text) > 10 or int(text) > 2**31 - 1:
        raise BadRequest(f"{name} must be a whole number from 0 to 2147483647")
    value = int(text)
    return min(value, maximum) if maximum else value


def search(
    session: Session, query: Query, access: StudyAccess, base: str, org_id: str
) -> list[dict[str, Any]]:
    """The matches of ``query`` among the studies ``access`` sees (what ``org_id`` may see)."""
    patients = None
    if query.id_number is not None:
        patients = patients_with_id_number(session, fhir_viewer(session, org_id), query.id_number)
    try:
        matches = list(
            find_values(
                session,
                query.level,
                query.keys,
                access,
                limit=query.limit,
                offset=query.offset,
                patients=patients,
            )
        )
    except QueryError as exc:
        raise BadRequest(str(exc)) from None
    return [_json(values, query.level, base) for values in matches]


def patients_with_id_number(
    session: Session, viewer: Viewer, number: str
) -> list[tuple[str | None, str]]:
    """(issuing organization, PatientID) of the patients a 居民身份证号 names: the members'
    PatientIDs on every Patient ``viewer`` may see that carries it, and the number itself."""
    keys: list[tuple[str | None, str]] = [(None, number)]
    for patient in all_by_identifier(session, "Patient", ID_CARD, number, viewer):
        for identifier in (patient.content or {}).get("identifier", []):
            system, value = identifier.get("system", ""), identifier.get("value")
            if system.startswith(MEMBER_PATIENT_IDS) and value:
                keys.append((system.removeprefix(MEMBER_PATIENT_IDS), value))
    return keys


# keyword -> (tag as DICOM JSON writes it, VR) for every indexed attribute
_JSON_KEYS = {
    keyword: (f"{tag_for_keyword(keyword):08X}", dictionary_VR(keyword)) for keyword in ATTRIBUTES
}
_NUMBER_VRS = {"IS", "US", "UL", "SS", "SL", "SV", "UV"}
_PN_GROUPS = ("Alphabetic", "Ideographic", "Phonetic")


def _json(values: dict[str, Any], level: Level, base: str) -> dict[str, Any]:
    """DICOM JSON (PS3.18 F.2) straight from the index values."""
    document: dict[str, Any] = {}
    for keyword, value in values.items():
        tag, vr = _JSON_KEYS[keyword]
        items = _json_values(vr, value)
        if keyword == "ModalitiesInStudy" and not items:
            continue  # present with no value breaks viewers' study lists
        document[tag] = {"vr": vr, "Value": items} if items else {"vr": vr}
    url = f"{base}/studies/{values['StudyInstanceUID']}"
    if level in (Level.SERIES, Level.IMAGE):
        url += f"/series/{values['SeriesInstanceUID']}"
    if level is Level.IMAGE:
        url += f"/instances/{values['SOPInstanceUID']}"
    document[INSTANCE_AVAILABILITY] = {"vr": "CS", "Value": ["ONLINE"]}
    document[RETRIEVE_URL] = {"vr": "UR", "Value": [url]}
    return dict(sorted(document.items()))


def _json_values(vr: str, value: Any) -> list[Any]:
    if value is None or value == "" or value == []:
        return []
    items = value if isinstance(value, list) else [value]
    if vr in _NUMBER_VRS:
        return [int(v) for v in items]
    if vr == "PN":
        return [dict(_pn_groups(str(v))) for v in items]
    return [str(v) for v in items]


def _pn_groups(name: str) -> list[tuple[str, str]]:
    """``Zhang^San=张^三`` -> Alphabetic and Ideographic component groups (empty ones left out)."""
    return [(g, text) for g, text in zip(_PN_GROUPS, name.split("="), strict=False) if text]
