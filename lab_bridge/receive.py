"""What happens to one received HL7 message: identify the sender, archive, acknowledge.

The raw bytes are archived in the object store and recorded in the database *before* AA is sent;
a sender that is not registered gets AR and nothing is stored; a storage failure gets AE so the
sender keeps the message and sends it again.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.exceptions import HL7apyException
from hl7apy.parser import parse_message

from lab_bridge.ack import AckCode, Header, build_ack
from storage import StorageError, store_object, transaction
from storage.platform import Platform
from storage.registry import find_mllp_peer

log = logging.getLogger("yilian.mllp")


@dataclass(frozen=True, slots=True)
class Outcome:
    code: AckCode
    ack: bytes
    key: str | None = None


def _decode(raw: bytes) -> str:
    """Enough to read the header: UTF-8, else GB18030 (the two encodings Chinese LIS use)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("gb18030", errors="replace")


def _header(text: str) -> Header:
    message = parse_message(
        text.replace("\n", "\r").strip("\r"),
        find_groups=False,
        validation_level=VALIDATION_LEVEL.TOLERANT,
    )
    msh = message.msh
    return Header(
        sending_application=msh.msh_3.to_er7(),
        sending_facility=msh.msh_4.to_er7(),
        receiving_application=msh.msh_5.to_er7(),
        receiving_facility=msh.msh_6.to_er7(),
        message_type=msh.msh_9.to_er7(),
        control_id=msh.msh_10.to_er7(),
        processing_id=msh.msh_11.to_er7(),
        version=msh.msh_12.to_er7(),
    )


def handle_message(platform: Platform, raw: bytes) -> Outcome:
    text = _decode(raw)
    try:
        header = _header(text)
    except (HL7apyException, ValueError, IndexError) as exc:
        log.warning("unparseable HL7 message rejected", extra={"reason": type(exc).__name__})
        return _answer(Header(), "utf-8", AckCode.REJECT, "message header (MSH) cannot be parsed")
    try:
        with transaction(platform.sessions) as session:
            peer = find_mllp_peer(session, header.sending_application, header.sending_facility)
            peer_id, encoding = (peer.id, peer.encoding) if peer else (None, "utf-8")
    except StorageError:
        return _answer(header, "utf-8", AckCode.ERROR, "registry unavailable, send again later")
    if peer_id is None:
        log.warning("HL7 message from unregistered sender rejected")
        return _answer(
            header, "utf-8", AckCode.REJECT, "sending application/facility not registered"
        )
    now = datetime.now(UTC)
    key = f"hl7/{now:%Y/%m/%d}/{peer_id}/{now:%H%M%S}-{uuid.uuid4().hex}.hl7"
    try:
        store_object(platform.sessions, platform.blobs, key, [raw])
    except StorageError:
        log.error("HL7 message not archived: storage unavailable", extra={"peer": peer_id})
        return _answer(header, encoding, AckCode.ERROR, "storage unavailable, send again later")
    log.info("HL7 message archived", extra={"peer": peer_id, "type": header.message_type})
    return _answer(header, encoding, AckCode.ACCEPT, "message stored", key)


def _answer(
    header: Header, encoding: str, code: AckCode, text: str, key: str | None = None
) -> Outcome:
    return Outcome(code, build_ack(header, code, text).encode(encoding), key)
