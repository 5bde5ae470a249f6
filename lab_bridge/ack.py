"""HL7 v2 acknowledgements (original mode): AA accepted, AE error, AR rejected."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from enum import StrEnum

from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.core import Message

from lab_bridge.errors import ContentError
from lab_bridge.parse import SUPPORTED_VERSIONS, escape

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


def build_ack(header: Header, code: AckCode, text: str, error: ContentError | None = None) -> str:
    """The ACK for ``header`` as ER7 text (segments separated by CR), with an ERR segment
    saying where and what when ``error`` is given (ERR-1 up to 2.4; ERR-2/3/4 from 2.5)."""
    version = header.version if header.version in SUPPORTED_VERSIONS else DEFAULT_VERSION
    ack = Message("ACK", version=version, validation_level=VALIDATION_LEVEL.TOLERANT)
    ack.msh.msh_3 = header.receiving_application or "YILIAN"
    ack.msh.msh_4 = header.receiving_facility
    ack.msh.msh_5 = header.sending_application
    ack.msh.msh_6 = header.sending_facility
    trigger = header.message_type.split("^")[1] if "^" in header.message_type else ""
    ack.msh.msh_9 = f"ACK^{trigger}^ACK" if trigger else "ACK"
    ack.msh.msh_10 = uuid.uuid4().hex[:20]
    ack.msh.msh_11 = header.processing_id or "P"
    ack.msa.msa_1 = code.value
    ack.msa.msa_2 = header.control_id
    ack.msa.msa_3 = text[:80]
    er7 = ack.to_er7()
    if error is not None:
        er7 += "\r" + _err(error, version)
    return er7


_LOCATION = re.compile(r"^([A-Z][A-Z0-9]{2})(?:\[(\d+)\])?(?:-(\d+))?$")


def _err(error: ContentError, version: str) -> str:
    """ERR for ``SEG[n]-field`` with an HL7 table 0357 code, escaped as ER7 text."""
    match = _LOCATION.match(error.where)
    segment, sequence, position = match.groups() if match else ("", None, None)
    location = "^".join([segment, sequence or "1", position or ""]).rstrip("^")
    reason = escape(error.reason)[:200]
    parts = (str(error.code), escape(_TABLE_0357.get(error.code, "")), "HL70357")
    if version.startswith(("2.3", "2.4")):  # ERR-1: segment^sequence^field^code&text&system
        return f"ERR|{'^'.join([segment, sequence or '1', position or '', '&'.join(parts)])}"
    return f"ERR||{location}|{'^'.join(parts)}|E||||{reason}"


_TABLE_0357 = {
    101: "Required field missing", 102: "Data type error", 103: "Table value not found",
    200: "Unsupported message type", 203: "Unsupported version id", 204: "Unknown key identifier",
    205: "Duplicate key identifier", 207: "Application internal error",
}  # fmt: skip
