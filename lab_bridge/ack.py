"""HL7 v2 acknowledgements (original mode): AA accepted, AE error, AR rejected."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from lab_bridge.errors import INTERNAL_ERROR, ContentError
from lab_bridge.parse import SUPPORTED_VERSIONS, Message, escape

DEFAULT_VERSION = "2.5"


class AckCode(StrEnum):
    ACCEPT = "AA"
    ERROR = "AE"
    REJECT = "AR"


@dataclass(frozen=True, slots=True)
class Header:
    """The fields of the received MSH an acknowledgement answers to."""

    sending_application: str = ""
    sending_facility: str = ""
    receiving_application: str = ""
    receiving_facility: str = ""
    message_type: str = ""
    control_id: str = ""
    processing_id: str = "P"
    version: str = DEFAULT_VERSION


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a received message is answered, and where it was archived (if it was)."""

    code: AckCode
    ack: bytes
    key: str | None = None
    message_id: int | None = None


def header_of(message: Message) -> Header:
    msh = message.msh
    return Header(
        sending_application=msh.get(3),
        sending_facility=msh.get(4),
        receiving_application=msh.get(5),
        receiving_facility=msh.get(6),
        message_type=message.message_type,
        control_id=message.control_id,
        processing_id=msh.get(11) or "P",
        version=message.version,
    )


def answered(
    header: Header, encoding: str, code: AckCode, text: str, *, internal: bool = False
) -> Outcome:
    """An answer with nothing archived; ``internal``: Yilian's fault (ERR-3 207)."""
    error = internal_error(text) if internal else None
    return Outcome(code, build_ack(header, code, text, error).encode(encoding, "replace"))


def build_ack(header: Header, code: AckCode, text: str, error: ContentError | None = None) -> str:
    """The ACK for ``header`` as ER7 text (segments separated by CR), with an ERR segment
    saying where and what when ``error`` is given (ERR-1 up to 2.4; ERR-2/3/4 from 2.5).

    Written field by field (each value escaped): an ACK's structure is fixed, and building it
    through hl7apy's typed model cost ~10 ms, more than storing the message it answers."""
    version = header.version if header.version in SUPPORTED_VERSIONS else DEFAULT_VERSION
    trigger = header.message_type.split("^")[1] if "^" in header.message_type else ""
    msh = [
        "MSH", "^~\\&", escape(header.receiving_application or "YILIAN"),
        escape(header.receiving_facility), escape(header.sending_application),
        escape(header.sending_facility), datetime.now(UTC).strftime("%Y%m%d%H%M%S+0000"), "",
        f"ACK^{escape(trigger)}^ACK" if trigger else "ACK", uuid.uuid4().hex[:20],
        escape(header.processing_id or "P"), version,
    ]  # fmt: skip
    msa = ["MSA", code.value, escape(header.control_id), escape(text[:80])]
    segments = ["|".join(msh), "|".join(msa)]
    if error is not None:
        segments.append(_err(error, version))
    return "\r".join(segments)


def internal_error(reason: str) -> ContentError:
    """What an ERR segment says of a fault of Yilian's own (207, no location): the message
    itself may be fine, and is worth sending again."""
    return ContentError("", INTERNAL_ERROR, reason)


_LOCATION = re.compile(r"^([A-Z][A-Z0-9]{2})(?:\[(\d+)\])?(?:-(\d+))?$")


def _err(error: ContentError, version: str) -> str:
    """ERR for ``SEG[n]-field`` (none when ``where`` names no segment: a line that is not one,
    an internal fault) with an HL7 table 0357 code, escaped as ER7 text."""
    match = _LOCATION.match(error.where)
    segment, sequence, position = match.groups() if match else ("", None, None)
    sequence = (sequence or "1") if segment else ""
    location = "^".join([segment, sequence, position or ""]).rstrip("^")
    reason = escape(error.reason)[:200]
    parts = (str(error.code), escape(_TABLE_0357.get(error.code, "")), "HL70357")
    if version.startswith(("2.3", "2.4")):  # ERR-1: segment^sequence^field^code&text&system
        return f"ERR|{'^'.join([segment, sequence, position or '', '&'.join(parts)])}"
    return f"ERR||{location}|{'^'.join(parts)}|E||||{reason}"


_TABLE_0357 = {
    100: "Segment sequence error", 101: "Required field missing", 102: "Data type error",
    103: "Table value not found", 200: "Unsupported message type",
    203: "Unsupported version id", 204: "Unknown key identifier",
    205: "Duplicate key identifier", 207: "Application internal error",
}  # fmt: skip
