"""Media types of DICOMweb: reading ``Accept`` (quoted or bare ``type``, several ranges,
q-values) and writing ``multipart/related`` bodies part by part."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

DICOM = "application/dicom"
DICOM_JSON = "application/dicom+json"
OCTET_STREAM = "application/octet-stream"
MULTIPART = "multipart/related"
ANY_SYNTAX = "*"

_RANGE = re.compile(r'(?:[^,"]|"[^"]*")+')
_PARAM = re.compile(r'\s*([^=;\s]+)\s*=\s*("[^"]*"|[^;]*)')


@dataclass(frozen=True, slots=True)
class MediaRange:
    media_type: str
    params: dict[str, str] = field(default_factory=dict)
    q: float = 1.0

    @property
    def part_type(self) -> str | None:
        """``type`` of a multipart range."""
        return self.params.get("type")

    @property
    def transfer_syntax(self) -> str | None:
        return self.params.get("transfer-syntax")

    def matches(self, media_type: str) -> bool:
        major, _, minor = self.media_type.partition("/")
        want_major, _, want_minor = media_type.partition("/")
        return major in ("*", want_major) and minor in ("*", want_minor)


def parse_accept(header: str | None) -> list[MediaRange]:
    """Media ranges, best first; ``*/*`` when the header is absent or empty."""
    if not header or not header.strip():
        return [MediaRange("*/*")]
    ranges: list[MediaRange] = []
    for raw in _RANGE.findall(header):
        media_type, _, rest = raw.strip().partition(";")
        if not media_type.strip():
            continue
        params = {name.lower(): value.strip().strip('"') for name, value in _PARAM.findall(rest)}
        try:
            q = float(params.pop("q", "1"))
        except ValueError:
            q = 1.0
        ranges.append(MediaRange(media_type.strip().lower(), params, q))
    return sorted(ranges, key=lambda r: -r.q)


def warning(texts: list[str], limit: int = 10) -> str:
    """A ``Warning`` header value (``299``, as PS3.18 uses it) giving up to ``limit`` texts;
    clients limit the size of the headers they read."""
    said = [f'299 yilian: "{text.replace(chr(34), chr(39))}"' for text in texts[:limit]]
    if len(texts) > limit:
        said.append(f'299 yilian: "and {len(texts) - limit} more"')
    return ", ".join(said)


def parse_content_type(header: str) -> MediaRange:
    ranges = parse_accept(header)
    return ranges[0] if header.strip() else MediaRange("")


class Multipart:
    """A ``multipart/related`` body: one boundary, parts written with their own headers."""

    def __init__(self, part_type: str) -> None:
        self.boundary = uuid.uuid4().hex
        self.part_type = part_type

    @property
    def content_type(self) -> str:
        return f'{MULTIPART}; type="{self.part_type}"; boundary={self.boundary}'

    def part_head(self, content_type: str, location: str | None = None) -> bytes:
        head = f"--{self.boundary}\r\nContent-Type: {content_type}\r\n"
        if location:
            head += f"Content-Location: {location}\r\n"
        return (head + "\r\n").encode()

    def tail(self) -> bytes:
        return f"--{self.boundary}--\r\n".encode()

    def body(self, parts: Iterable[tuple[str, Iterable[bytes]]]) -> Iterator[bytes]:
        """The whole body from ``(content type, chunks)`` pairs."""
        for content_type, chunks in parts:
            yield self.part_head(content_type)
            yield from chunks
            yield b"\r\n"
        yield self.tail()
