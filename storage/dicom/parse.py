"""Read what the index needs from a received DICOM file without loading its bulk data:
identifying attributes, and the byte range of each frame's pixel data in the file."""

from __future__ import annotations

import bisect
import hashlib
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import UID, DeflatedExplicitVRLittleEndian

from storage.dicom.elements import DECODE_ERRORS, int_of, uid_problem, value_of

PIXEL_DATA = 0x7FE00010
_ITEM = 0xFFFEE000
_SEQUENCE_DELIMITER = 0xFFFEE0DD
_DEFER = 4096
# First bytes of a codestream that starts a frame: JPEG SOI, JPEG 2000 SOC / JP2 box.
_FRAME_STARTS = (b"\xff\xd8", b"\xff\x4f\xff\x51", b"\x00\x00\x00\x0cjP")

_INT32 = 2**31 - 1

FrameRanges = list[list[list[int]]]


class InvalidInstance(ValueError):
    """The received data cannot be indexed.  ``undecodable``: not parseable DICOM;
    otherwise the dataset lacks or contradicts what identifies it.  ``sop_class_uid`` and
    ``sop_instance_uid``: the instance's own, when they could be read (else empty), so that a
    sender can be told which of its instances was refused."""

    def __init__(
        self,
        reason: str,
        *,
        undecodable: bool,
        sop_class_uid: str = "",
        sop_instance_uid: str = "",
    ) -> None:
        super().__init__(reason)
        self.undecodable = undecodable
        self.sop_class_uid = sop_class_uid
        self.sop_instance_uid = sop_instance_uid

    def of(self, sop_class_uid: str, sop_instance_uid: str) -> InvalidInstance:
        """The same refusal, naming the instance it is about."""
        return InvalidInstance(
            str(self),
            undecodable=self.undecodable,
            sop_class_uid=sop_class_uid,
            sop_instance_uid=sop_instance_uid,
        )

    def __reduce__(self) -> tuple[Any, ...]:  # crosses process boundaries (ingest workers)
        return (
            _invalid_instance,
            (str(self), self.undecodable, self.sop_class_uid, self.sop_instance_uid),
        )


def _invalid_instance(
    reason: str, undecodable: bool, sop_class_uid: str, sop_instance_uid: str
) -> InvalidInstance:
    return InvalidInstance(
        reason,
        undecodable=undecodable,
        sop_class_uid=sop_class_uid,
        sop_instance_uid=sop_instance_uid,
    )


@dataclass(frozen=True, slots=True)
class ParsedInstance:
    sop_class_uid: str
    sop_instance_uid: str
    transfer_syntax_uid: str
    study_uid: str
    series_uid: str
    patient_id: str
    patient_name: str
    birth_date: str
    sex: str
    study_date: str
    study_time: str
    accession_number: str
    study_id: str
    study_description: str
    referring_physician: str
    modality: str
    series_number: int | None
    series_description: str
    body_part: str
    series_date: str
    series_time: str
    instance_number: int | None
    rows: int | None
    columns: int | None
    number_of_frames: int | None
    frames: FrameRanges | None
    size: int


def _text(ds: Dataset, keyword: str, limit: int = 200) -> str:
    """An attribute for the index: a value that cannot be decoded is indexed as empty (the
    stored object keeps it as received); NULs, which PostgreSQL cannot store, are dropped."""
    value = value_of(ds, keyword)
    if value is None:
        return ""
    if isinstance(value, list | tuple) or type(value).__name__ == "MultiValue":
        value = "\\".join(str(v) for v in value)
    return str(value).replace("\x00", "").strip()[:limit]


def _identifier(ds: Dataset, keyword: str, limit: int = 64) -> str:
    """An identifying attribute is indexed whole or refused, never cut: two patients whose IDs
    differ after the limit would otherwise become one."""
    text = _text(ds, keyword, limit + 1)
    if len(text) > limit:
        length = len(_text(ds, keyword, 1 << 16))
        raise InvalidInstance(
            f"{keyword} has {length} characters (at most {limit})", undecodable=False
        )
    return text


def _int(ds: Dataset, keyword: str) -> int | None:
    """An integer for the index, or None when it cannot be read or does not fit its column."""
    value = int_of(ds, keyword)
    return value if value is not None and -_INT32 <= value <= _INT32 else None


def _uid(ds: Dataset, keyword: str) -> str:
    """A UID is indexed whole or refused (see ``storage.dicom.elements``)."""
    if keyword not in ds:
        raise InvalidInstance(f"{keyword} is missing", undecodable=False)
    try:
        value = ds.get(keyword)
    except DECODE_ERRORS:
        raise InvalidInstance(f"{keyword} cannot be decoded", undecodable=False) from None
    problem = uid_problem(value)
    if problem is not None:
        raise InvalidInstance(f"{keyword} {problem}", undecodable=False)
    return str(value).strip(" \x00")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fp:
        while chunk := fp.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def parse_instance(path: Path, expected_sop_instance_uid: str | None = None) -> ParsedInstance:
    """Raises ``InvalidInstance``: undecodable when the file cannot be read as DICOM; not so
    when an identifying UID is missing or unusable (named, with its length when too long), or
    differs from the C-STORE request.  Other attributes that cannot be decoded are indexed as
    empty: the object is stored as received and its other values stay readable."""
    size = os.stat(path).st_size
    try:
        with open(path, "rb") as fp:
            ds = dcmread(fp, defer_size=_DEFER)
            transfer_syntax = _transfer_syntax(ds)
            # Deflated data: value offsets count in the inflated stream, not in the file.
            if transfer_syntax != DeflatedExplicitVRLittleEndian:
                _check_lengths(ds, size)
            frames = _frame_ranges(fp, ds, transfer_syntax, size)
            # Read while the file is open: a deferred (long) value is read from it on access.
            return _parsed(ds, transfer_syntax, frames, size, expected_sop_instance_uid)
    except InvalidInstance:
        raise
    except (InvalidDicomError, OSError, *DECODE_ERRORS) as exc:
        raise InvalidInstance(f"not decodable: {type(exc).__name__}", undecodable=True) from exc


def _transfer_syntax(ds: Dataset) -> str:
    """The file meta's transfer syntax: one we know how to read, or the data cannot be."""
    value = ds.file_meta.get("TransferSyntaxUID")
    problem = uid_problem(value) if value is not None else "is missing"
    syntax = str(value).strip(" \x00")
    if problem is None and not UID(syntax).is_transfer_syntax:
        problem = "names no transfer syntax we can read"
    if problem is not None:
        raise InvalidInstance(f"TransferSyntaxUID {problem}", undecodable=True)
    return syntax


def _parsed(
    ds: Dataset,
    transfer_syntax: str,
    frames: FrameRanges | None,
    size: int,
    expected_sop_instance_uid: str | None,
) -> ParsedInstance:
    sop_instance_uid = _uid(ds, "SOPInstanceUID")
    sop_class_uid = _uid(ds, "SOPClassUID")
    try:
        if expected_sop_instance_uid and sop_instance_uid != expected_sop_instance_uid:
            raise InvalidInstance(
                "SOPInstanceUID in the data set differs from the C-STORE request",
                undecodable=False,
            )
        return _attributes(ds, sop_class_uid, sop_instance_uid, transfer_syntax, frames, size)
    except InvalidInstance as exc:
        raise exc.of(sop_class_uid, sop_instance_uid) from None


def _attributes(
    ds: Dataset,
    sop_class_uid: str,
    sop_instance_uid: str,
    transfer_syntax: str,
    frames: FrameRanges | None,
    size: int,
) -> ParsedInstance:
    return ParsedInstance(
        sop_class_uid=sop_class_uid,
        sop_instance_uid=sop_instance_uid,
        transfer_syntax_uid=transfer_syntax,
        study_uid=_uid(ds, "StudyInstanceUID"),
        series_uid=_uid(ds, "SeriesInstanceUID"),
        patient_id=_identifier(ds, "PatientID"),
        patient_name=_text(ds, "PatientName", 324),
        birth_date=_text(ds, "PatientBirthDate", 8),
        sex=_text(ds, "PatientSex", 16),
        study_date=_text(ds, "StudyDate", 8),
        study_time=_text(ds, "StudyTime", 16),
        accession_number=_identifier(ds, "AccessionNumber"),
        study_id=_identifier(ds, "StudyID"),
        study_description=_text(ds, "StudyDescription"),
        referring_physician=_text(ds, "ReferringPhysicianName", 324),
        modality=_text(ds, "Modality", 16),
        series_number=_int(ds, "SeriesNumber"),
        series_description=_text(ds, "SeriesDescription"),
        body_part=_text(ds, "BodyPartExamined", 64),
        series_date=_text(ds, "SeriesDate", 8),
        series_time=_text(ds, "SeriesTime", 16),
        instance_number=_int(ds, "InstanceNumber"),
        rows=_int(ds, "Rows"),
        columns=_int(ds, "Columns"),
        number_of_frames=_int(ds, "NumberOfFrames"),
        frames=frames,
        size=size,
    )


def _check_lengths(ds: Dataset, size: int) -> None:
    """Deferred (large) values are not read here: check that each one fits in the file, so
    that a truncated transfer is refused instead of indexed."""
    for tag in ds.keys():  # noqa: SIM118 (iterating a Dataset would load each element)
        elem = ds.get_item(tag, keep_deferred=True)
        tell, length = getattr(elem, "value_tell", None), getattr(elem, "length", 0)
        if tell is not None and length != 0xFFFFFFFF and tell + length > size:
            raise InvalidInstance(f"{elem.tag} runs past the end of the data", undecodable=True)


def _frame_ranges(fp: BinaryIO, ds: Dataset, transfer_syntax: str, size: int) -> FrameRanges | None:
    if PIXEL_DATA not in ds or transfer_syntax == DeflatedExplicitVRLittleEndian:
        return None
    raw: Any = ds.get_item(PIXEL_DATA, keep_deferred=True)
    offset, length = getattr(raw, "value_tell", None), getattr(raw, "length", None)
    if offset is None or length is None:
        return None
    count = _int(ds, "NumberOfFrames") or 1
    if length != 0xFFFFFFFF:
        if offset + length > size:
            raise InvalidInstance("pixel data runs past the end of the data", undecodable=True)
        frame = _native_frame_length(ds)
        if frame is None or frame * count > length:
            return None
        return [[[offset + i * frame, frame]] for i in range(count)]
    little = UID(transfer_syntax).is_little_endian
    return _encapsulated_frames(fp, offset, count, size, little)


def _native_frame_length(ds: Dataset) -> int | None:
    rows, columns = _int(ds, "Rows"), _int(ds, "Columns")
    bits = _int(ds, "BitsAllocated")
    samples = _int(ds, "SamplesPerPixel") or 1
    if not rows or not columns or not bits or bits % 8:
        return None  # 1-bit frames are not byte aligned: no ranges
    return rows * columns * samples * bits // 8


def _encapsulated_frames(
    fp: BinaryIO, offset: int, count: int, size: int, little: bool
) -> FrameRanges | None:
    """Walk the items of encapsulated pixel data (PS3.5 A.4): the Basic Offset Table, then
    fragments; group fragments into frames."""
    header = struct.Struct("<HHI" if little else ">HHI")
    fp.seek(offset)
    items: list[tuple[int, int]] = []  # (offset of item tag, length of its value)
    position = offset
    while True:
        raw = fp.read(8)
        if len(raw) < 8:
            raise InvalidInstance("encapsulated pixel data is truncated", undecodable=True)
        group, element, length = header.unpack(raw)
        tag = group << 16 | element
        if tag == _SEQUENCE_DELIMITER:
            break
        if tag != _ITEM or position + 8 + length > size:
            raise InvalidInstance("encapsulated pixel data is malformed", undecodable=True)
        items.append((position, length))
        position += 8 + length
        fp.seek(position)
    if not items:
        raise InvalidInstance("encapsulated pixel data has no offset table", undecodable=True)
    table_at, table_length = items[0]
    fragments = items[1:]
    if not fragments:
        return None
    first = fragments[0][0]

    def ranges(group: list[tuple[int, int]]) -> list[list[int]]:
        return [[at + 8, length] for at, length in group]

    if count == 1:
        return [ranges(fragments)]
    if table_length:
        fp.seek(table_at + 8)
        starts = list(
            struct.unpack(f"{'<' if little else '>'}{table_length // 4}I", fp.read(table_length))
        )
        if len(starts) == count and starts == sorted(starts):
            # Each fragment belongs to the last frame starting at or before it (a slide's
            # level has tens of thousands: found by bisection, not by a scan per frame).
            grouped: list[list[tuple[int, int]]] = [[] for _ in range(count)]
            for fragment in fragments:
                frame = bisect.bisect_right(starts, fragment[0] - first) - 1
                if frame >= 0:
                    grouped[frame].append(fragment)
            return [ranges(f) for f in grouped]
    if len(fragments) == count:
        return [ranges([f]) for f in fragments]
    frames: list[list[tuple[int, int]]] = []
    for at, length in fragments:
        fp.seek(at + 8)
        if fp.read(12).startswith(_FRAME_STARTS) or not frames:
            frames.append([])
        frames[-1].append((at, length))
    return [ranges(f) for f in frames] if len(frames) == count else None
