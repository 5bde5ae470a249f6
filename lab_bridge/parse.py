"""HL7 v2 messages as received from Chinese LIS and analysers, read tolerantly where real
traffic deviates harmlessly (LF or CRLF between segments, missing trailing separators,
Z-segments, a byte-order mark, MSH-2 without the subcomponent separator) and strictly where
meaning is at stake (no MSH, no control id, an unsupported version: the message is refused,
never guessed at).

Segments are split on CR and fields by position, the same in every version from 2.3 to 2.6,
with HL7 escapes undone (``\\Xhh..\\`` in the message's encoding).  What the sender must fix
is kept beside what was read rather than raised, so that the message can still be archived
and answered with its control id: a broken header or frame (MSH-2 that is not four distinct
separators, a line without a segment ID, a second MSH) is the message's ``problem``; text a
field cannot hold (a control character FHIR strings forbid, an escape that is not text in the
message's encoding) is the field's, raised as a :class:`ContentError` at that field when the
field is read — only fields that become something are refused.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field

from lab_bridge.errors import ContentError

SUPPORTED_VERSIONS = ("2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6")
DEFAULT_ENCODING_CHARACTERS = "^~\\&"
_SEGMENT_ID = re.compile(r"[A-Z][A-Z0-9]{2}")
# C0 control characters but TAB, LF and CR: FHIR strings may not hold them.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


class ParseError(Exception):
    """The bytes are not an HL7 v2 message one can answer (no usable MSH).  ``header``: an
    MSH found further on, read as well as it can be, for the answer's MSA-2."""

    def __init__(self, reason: str, header: Message | None = None) -> None:
        super().__init__(reason)
        self.header = header


class UnsupportedVersion(ParseError):
    """A version this parser does not read: only the header (``message``) is known."""

    def __init__(self, message: Message) -> None:
        super().__init__(f"HL7 version {message.version!r} is not supported", message)
        self.message = message


@dataclass(frozen=True, slots=True)
class Segment:
    name: str
    # position -> repetitions -> components; MSH-1 is the field separator, as HL7 counts.
    fields: dict[int, list[list[str]]] = field(default_factory=dict)
    where: str = ""  # ``PID[1]``: where its fields are, as an ERR segment names them
    # position -> why the field's text cannot be used (raised when the field is read)
    problems: dict[int, str] = field(default_factory=dict)

    def get(self, position: int, component: int = 1, repetition: int = 0) -> str:
        """One component of one repetition, '' when absent."""
        repetitions = self._read(position)
        if repetition >= len(repetitions):
            return ""
        components = repetitions[repetition]
        return components[component - 1] if component <= len(components) else ""

    def repetitions(self, position: int) -> list[list[str]]:
        return [r for r in self._read(position) if any(r)]

    def _read(self, position: int) -> list[list[str]]:
        if position in self.problems:
            raise ContentError(f"{self.where}-{position}", 102, self.problems[position])
        return self.fields.get(position, [])


@dataclass(frozen=True, slots=True)
class Message:
    segments: list[Segment]
    # What makes the message as a whole unusable although its header can be read.
    problem: ContentError | None = None

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
    """Segments separated by CR (senders use LF or CRLF too), no empty lines, no BOM."""
    text = text.removeprefix("\ufeff")
    return "\r".join(line for line in re.split(r"\r\n|\r|\n", text) if line.strip())


def parse(text: str, encoding: str = "utf-8") -> Message:
    """``encoding``: the one the text was decoded from (``\\X..\\`` escapes are in it)."""
    lines = normalise(text).split("\r")
    if not _is_msh(lines[0]):
        raise ParseError("the message does not start with an MSH segment", header_in(text))
    header = _header(lines[0], encoding)
    if header.version not in SUPPORTED_VERSIONS:
        raise UnsupportedVersion(header)
    separator, characters = lines[0][3], header.msh.get(2)
    if not _usable_encoding_characters(characters):
        return header  # the rest cannot be split into fields
    segments, problem = [header.msh], header.problem
    counts = {"MSH": 1}
    for number, line in enumerate(lines[1:], start=2):
        name = line.split(separator, 1)[0]
        counts[name] = index = counts.get(name, 0) + 1
        if _SEGMENT_ID.fullmatch(name) and name != "MSH":
            segments.append(_segment(line, f"{name}[{index}]", separator, characters, encoding))
        elif problem is None and name == "MSH":
            reason = "a second MSH segment: one message per MLLP frame"
            problem = ContentError(f"MSH[{index}]", 100, reason)
        elif problem is None:
            reason = f"segment {number} ({line[:3]!r}…) does not start with a segment ID"
            problem = ContentError(f"segment {number}", 100, reason)
    return Message(segments, problem)


def header_in(text: str, encoding: str = "utf-8") -> Message | None:
    """The first MSH in ``text``, read as well as it can be (the default encoding characters
    if its own are unusable), for an answer to a message that cannot be parsed; never
    raises."""
    lines = normalise(text).split("\r")
    return next((_header(line, encoding) for line in lines if _is_msh(line)), None)


def has_control_characters(text: str) -> bool:
    return CONTROL_CHARACTERS.search(text) is not None


def without_control_characters(text: str) -> str:
    """``text`` fit for a database column (control characters as U+FFFD)."""
    return CONTROL_CHARACTERS.sub("\ufffd", text)


def _is_msh(line: str) -> bool:
    """An MSH segment with a usable field separator (not a letter, digit or space)."""
    return line.startswith("MSH") and len(line) > 3 and not line[3].isalnum() and line[3] > " "


def _header(line: str, encoding: str) -> Message:
    """The MSH as a one-segment message: its fields read tolerantly (they are what the answer
    is addressed with), any field's problem as the message's."""
    separator = line[3]
    declared = line[4:].split(separator, 1)[0]
    usable = _usable_encoding_characters(declared)
    characters = declared if usable else DEFAULT_ENCODING_CHARACTERS
    msh = _segment(line, "MSH[1]", separator, characters, encoding)
    fields = {**msh.fields, 2: [[declared]]}
    problem = None
    if not usable:
        reason = f"the encoding characters (MSH-2) {declared!r} are not four distinct separators"
        problem = ContentError("MSH[1]-2", 102, f"{reason} such as ^~\\&")
    elif msh.problems:
        position = min(msh.problems)
        problem = ContentError(f"MSH[1]-{position}", 102, msh.problems[position])
    return Message([dataclasses.replace(msh, fields=fields, problems={})], problem)


def _usable_encoding_characters(declared: str) -> bool:
    """Component, repetition, escape and (optional: some LIS omit it) subcomponent separators:
    distinct, and none a letter, digit, space or control character."""
    return (
        len(declared) in (3, 4)
        and len(set(declared)) == len(declared)
        and all(not c.isalnum() and " " < c < "\x7f" for c in declared)
    )


def _segment(er7: str, where: str, separator: str, characters: str, encoding: str) -> Segment:
    component, repetition, escape = characters[:3]
    subcomponent = characters[3] if len(characters) > 3 else None
    parts = er7.split(separator)
    name = parts[0]
    fields: dict[int, list[list[str]]] = {}
    problems: dict[int, str] = {}
    if name == "MSH":
        fields[1] = [[separator]]
        values = list(enumerate(parts[2:], start=3))
    else:
        values = list(enumerate(parts[1:], start=1))
    for position, value in values:
        if not value:
            continue
        repetitions = []
        for rep in value.split(repetition):
            components = []
            for c in rep.split(component):
                text = c.split(subcomponent)[0] if subcomponent else c
                plain, problem = _unescape(text, escape, separator, characters, encoding)
                if problem and position not in problems:
                    problems[position] = problem
                components.append(plain)
            repetitions.append(components)
        fields[position] = repetitions
    return Segment(name, fields, where, problems)


def _unescape(
    text: str, escape: str, separator: str, characters: str, encoding: str
) -> tuple[str, str | None]:
    """The text with HL7 escapes undone, and why it cannot be used (None if it can)."""
    problems: list[str] = []
    if escape in text:
        component, repetition = characters[:2]
        subcomponent = characters[3] if len(characters) > 3 else "&"
        plain = {
            "F": separator, "S": component, "R": repetition, "T": subcomponent,
            "E": escape, ".br": "\n",
        }  # fmt: skip

        def replace(match: re.Match[str]) -> str:
            code = match.group(1)
            if code in plain:
                return plain[code]
            if code.startswith("X") and re.fullmatch(r"X(?:[0-9A-Fa-f]{2})+", code):
                try:
                    return bytes.fromhex(code[1:]).decode(encoding)
                except UnicodeDecodeError:
                    problems.append(f"the escape \\{code}\\ is not {encoding} text")
            return match.group(0)

        text = re.sub(re.escape(escape) + r"([^" + re.escape(escape) + r"]*)" + re.escape(escape),
                      replace, text)  # fmt: skip
    control = CONTROL_CHARACTERS.search(text)
    if control is not None and not problems:
        problems.append(
            f"contains the control character U+{ord(control.group()):04X}, which text may not hold"
        )
    return text, problems[0] if problems else None


def escape(text: str) -> str:
    """Text as an ER7 field value (the default encoding characters ``|^~\\&``; line breaks
    as ``\\.br\\``, other control characters as ``\\Xhh\\``)."""
    escaped = (
        text.replace("\\", "\\E\\").replace("|", "\\F\\").replace("^", "\\S\\")
        .replace("&", "\\T\\").replace("~", "\\R\\").replace("\r\n", "\\.br\\")
        .replace("\n", "\\.br\\").replace("\r", "\\.br\\")
    )  # fmt: skip
    return CONTROL_CHARACTERS.sub(lambda m: f"\\X{ord(m.group()):02X}\\", escaped)
