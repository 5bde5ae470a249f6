"""HL7 v2 acknowledgements (original mode): AA accepted, AE error, AR rejected."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum

from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.core import Message

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


def build_ack(header: Header, code: AckCode, text: str) -> str:
    """The ACK for ``header`` as ER7 text (segments separated by CR)."""
    version = header.version or DEFAULT_VERSION
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
    return ack.to_er7()
