"""STOW-RS (PS3.18 10.5): a ``multipart/related; type="application/dicom"`` upload is split
into one file per part while it streams in, then each part goes through the same ingest as
C-STORE.  Every part gets its own answer; one bad part never drops the others."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser

from gateway.dicomweb.media import DICOM, MULTIPART, parse_content_type, warning
from gateway.errors import BadRequest, UnsupportedMediaType
from storage.dicom import IngestResult, InvalidInstance, Sender, ingest_file
from storage.errors import StorageError
from storage.platform import Platform

# FailureReason (0008,1197) values (PS3.4 Annex GG / C.4.2.1.4).
OUT_OF_RESOURCES = 0xA700
DATA_SET_DOES_NOT_MATCH = 0xA900
CANNOT_UNDERSTAND = 0xC000
MAX_PARTS = 10_000


@dataclass
class _Part:
    path: Path
    content_type: str = ""


@dataclass
class Upload:
    """The parts of one request body, each in its own file under ``directory``."""

    directory: Path
    parts: list[_Part] = field(default_factory=list)
    _header: bytes = b""
    _value: bytes = b""
    _handle: Any = None
    _ended: bool = False

    def parser(self, boundary: bytes) -> MultipartParser:
        return MultipartParser(
            boundary,
            {
                "on_part_begin": self._begin,
                "on_header_field": self._field,
                "on_header_value": self._value_part,
                "on_header_end": self._header_end,
                "on_part_data": self._data,
                "on_part_end": self._end,
                "on_end": self._finished,
            },
        )

    def _begin(self) -> None:
        if len(self.parts) >= MAX_PARTS:
            raise BadRequest(f"more than {MAX_PARTS} parts")
        self.parts.append(_Part(self.directory / f"part-{len(self.parts):05d}.dcm"))
        self._handle = open(self.parts[-1].path, "wb")  # noqa: SIM115 (closed in _end)

    def _field(self, data: bytes, start: int, end: int) -> None:
        self._header += data[start:end]

    def _value_part(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        if self._header.strip().lower() == b"content-type":
            self.parts[-1].content_type = self._value.decode("latin-1").strip()
        self._header = self._value = b""

    def _data(self, data: bytes, start: int, end: int) -> None:
        self._handle.write(data[start:end])

    def _end(self) -> None:
        self._handle.close()
        self._handle = None

    def _finished(self) -> None:
        self._ended = True

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()

    @property
    def complete(self) -> bool:
        return self._ended


def boundary_of(content_type: str) -> bytes:
    media = parse_content_type(content_type)
    if media.media_type != MULTIPART:
        raise UnsupportedMediaType(f'send multipart/related; type="{DICOM}"')
    if media.part_type not in (DICOM, None):
        raise UnsupportedMediaType(
            f"parts of type {media.part_type} are not accepted; send {DICOM} instances"
        )
    boundary = media.params.get("boundary")
    if not boundary:
        raise BadRequest("multipart/related without a boundary")
    return boundary.encode("latin-1")


async def receive(request: Any, directory: Path) -> Upload:
    """Stream the body into part files; 400 when it is not a complete multipart body."""
    upload = Upload(directory)
    parser = upload.parser(boundary_of(request.headers.get("content-type", "")))
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except MultipartParseError as exc:
        raise BadRequest(f"malformed multipart body: {exc}") from None
    finally:
        upload.close()
    if not upload.complete:
        raise BadRequest("malformed multipart body: it ends before its closing boundary")
    if not upload.parts:
        raise BadRequest("the body has no parts")
    return upload


def temporary_directory(platform: Platform) -> tempfile.TemporaryDirectory[str]:
    incoming = platform.settings.data_dir / "stow-incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    return tempfile.TemporaryDirectory(dir=incoming)


@dataclass(frozen=True, slots=True)
class PartOutcome:
    result: IngestResult | None
    failure: int | None
    reason: str = ""
    sop_class_uid: str = ""  # of a refused instance, when it could be read
    sop_instance_uid: str = ""


def ingest_part(
    platform: Platform, part: _Part, sender: Sender, study_uid: str | None
) -> PartOutcome:
    part_type = parse_content_type(part.content_type).media_type if part.content_type else DICOM
    if part_type != DICOM:
        return PartOutcome(None, CANNOT_UNDERSTAND, f"part of type {part_type} is not {DICOM}")
    try:
        result = ingest_file(
            platform.sessions, platform.blobs, part.path, sender, expected_study_uid=study_uid
        )
    except InvalidInstance as exc:
        code = CANNOT_UNDERSTAND if exc.undecodable else DATA_SET_DOES_NOT_MATCH
        return PartOutcome(None, code, str(exc), exc.sop_class_uid, exc.sop_instance_uid)
    except StorageError:
        return PartOutcome(None, OUT_OF_RESOURCES, "storage unavailable, retry later")
    return PartOutcome(result, None)


def response(
    outcomes: list[PartOutcome], base: str, study_uid: str | None
) -> tuple[int, dict[str, Any], dict[str, str]]:
    """Status (200 all stored, 202 some, 409 none), the response data set (DICOM JSON) and its
    headers: each refused part is a Failed SOP Sequence item (with the instance's UIDs when
    they could be read) and a ``Warning`` saying why, in words."""
    stored = [o.result for o in outcomes if o.result is not None]
    document: dict[str, Any] = {}
    studies = {r.study_uid for r in stored} | ({study_uid} if study_uid else set())
    if len(studies) == 1:
        document["00081190"] = {"vr": "UR", "Value": [f"{base}/studies/{studies.pop()}"]}
    if stored:
        document["00081199"] = {
            "vr": "SQ",
            "Value": [
                {
                    "00081150": {"vr": "UI", "Value": [r.sop_class_uid]},
                    "00081155": {"vr": "UI", "Value": [r.sop_instance_uid]},
                    "00081190": {
                        "vr": "UR",
                        "Value": [
                            f"{base}/studies/{r.study_uid}/series/{r.series_uid}"
                            f"/instances/{r.sop_instance_uid}"
                        ],
                    },
                }
                for r in stored
            ],
        }
    failed = [(number, o) for number, o in enumerate(outcomes, 1) if o.failure is not None]
    headers: dict[str, str] = {}
    if failed:
        document["00081198"] = {"vr": "SQ", "Value": [_failed_item(o) for _, o in failed]}
        headers["Warning"] = warning([f"part {number}: {o.reason}" for number, o in failed])
    status = 200 if not failed else 202 if stored else 409
    return status, document, headers


def _failed_item(outcome: PartOutcome) -> dict[str, Any]:
    item: dict[str, Any] = {}
    if outcome.sop_class_uid:
        item["00081150"] = {"vr": "UI", "Value": [outcome.sop_class_uid]}
    if outcome.sop_instance_uid:
        item["00081155"] = {"vr": "UI", "Value": [outcome.sop_instance_uid]}
    item["00081197"] = {"vr": "US", "Value": [outcome.failure]}
    return item
