"""HL7 v2 messages as received from Chinese LIS and analysers, read tolerantly where real
traffic deviates harmlessly (LF or CRLF between segments, missing trailing separators,
Z-segments) and strictly where meaning is at stake (no MSH, no control id, an unsupported
version: the message is refused, never guessed at).

The ``hl7`` package parses the message (segments, the encoding characters of MSH-2) — it is
fast, about 0.5 ms a message, where hl7apy's typed parse costs ~45 ms; hl7apy builds what
Yilian sends.  Fields are then read by position, the same in every version from 2.3 to 2.6,
with HL7 escapes undone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import hl7

SUPPORTED_VERSIONS = ("2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6")


class ParseError(Exception):
    """The bytes are not an HL7 v2 message one can answer (no usable MSH)."""


class UnsupportedVersion(ParseError):
    """A version this parser does not read: only the header (``message``) is known."""

    def __init__(self, message: Message) -> None:
        super().__init__(f"HL7 version {message.version!r} is not supported")
        self.message = message


@dataclass(frozen=True, slots=True)
class Segment:
    name: str
    # position -> repetitions -> components; MSH-1 is the field separator, as HL7 counts.
    fields: dict[int, list[list[str]]] = field(default_factory=dict)

    def get(self, position: int, component: int = 1, repetition: int = 0) -> str:
        """One component of one repetition, '' when absent."""
        repetitions = self.fields.get(position, [])
        if repetition >= len(repetitions):
            return ""
        components = repetitions[repetition]
        return components[component - 1] if component <= len(components) else ""

    def repetitions(self, position: int) -> list[list[str]]:
        return [r for r in self.fields.get(position, []) if any(r)]


@dataclass(frozen=True, slots=True)
class Message:
    segments: list[Segment]

    @property
    def msh(self) -> Segment:
        return self.segments[0]

    @property
    def message_type(self) -> str:
        """``ORU^R01``."""
        code, trigger = self.msh.get(9, 1), self.msh.get(9, 2)
        return f"{code}^{trigger}" if trigger else code

    @property
    def control_id(self) -> str:
        return self.msh.get(10)

    @property
    def version(self) -> str:
        return self.msh.get(12)

    def all(self, name: str) -> list[Segment]:
        return [s for s in self.segments if s.name == name]

    def first(self, name: str) -> Segment | None:
        return next((s for s in self.segments if s.name == name), None)


def normalise(text: str) -> str:
    """Segments separated by CR (senders use LF or CRLF too), no empty lines."""
    return "\r".join(line for line in re.split(r"\r\n|\r|\n", text) if line.strip())


def parse(text: str) -> Message:
    text = normalise(text)
    if not text.startswith("MSH") or len(text) < 8:
        raise ParseError("the message does not start with an MSH segment")
    separator, encoding = text[3], text[4:8]
    header = Message([_segment(text.split("\r", 1)[0], separator, encoding)])
    if header.version not in SUPPORTED_VERSIONS:
        raise UnsupportedVersion(header)
    try:
        parsed = hl7.parse(text)
    except (hl7.ParseException, ValueError, IndexError, KeyError) as exc:
        raise ParseError(f"not an HL7 v2 message ({type(exc).__name__})") from exc
    segments = [_segment(str(segment), separator, encoding) for segment in parsed]
    if any(not re.fullmatch(r"[A-Z][A-Z0-9]{2}", s.name) for s in segments):
        raise ParseError("a segment without a three-character segment ID")
    return Message(segments)


def _segment(er7: str, separator: str, encoding: str) -> Segment:
    component, repetition, escape, subcomponent = encoding
    parts = er7.split(separator)
    name = parts[0]
    fields: dict[int, list[list[str]]] = {}
    if name == "MSH":
        fields[1] = [[separator]]
        fields[2] = [[encoding]]
        values = list(enumerate(parts[2:], start=3))
    else:
        values = list(enumerate(parts[1:], start=1))
    for position, value in values:
        if value:
            fields[position] = [
                [_unescape(c.split(subcomponent)[0], escape, separator, encoding)
                 for c in rep.split(component)]
                for rep in value.split(repetition)
            ]  # fmt: skip
    return Segment(name, fields)


def _unescape(text: str, escape: str, separator: str, encoding: str) -> str:
    if escape not in text:
        return text
    component, repetition, _, subcomponent = encoding
    plain = {
        "F": separator, "S": component, "R": repetition, "T": subcomponent, "E": escape,
        ".br": "\n",
    }  # fmt: skip

    def replace(match: re.Match[str]) -> str:
        code = match.group(1)
        if code in plain:
            return plain[code]
        if code.startswith("X") and re.fullmatch(r"X(?:[0-9A-Fa-f]{2})+", code):
            return bytes.fromhex(code[1:]).decode("utf-8", errors="replace")
        return match.group(0)

    return re.sub(re.escape(escape) + r"([^" + re.escape(escape) + r"]*)" + re.escape(escape),
                  replace, text)  # fmt: skip


def escape(text: str) -> str:
    """Text as an ER7 field value (the default encoding characters ``|^~\\&``; line breaks
    as ``\\.br\\``)."""
    return (
        text.replace("\\", "\\E\\").replace("|", "\\F\\").replace("^", "\\S\\")
        .replace("&", "\\T\\").replace("~", "\\R\\").replace("\r\n", "\\.br\\")
        .replace("\n", "\\.br\\").replace("\r", "\\.br\\")
    )  # fmt: skip
