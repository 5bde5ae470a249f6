"""What happens to one received HL7 message.

1. The header is read; a message without a usable MSH, or from a sender that is not registered
   (MSH-3/MSH-4), gets AR and nothing is stored (MSA-2 is the control id if one can be found).
2. The raw bytes are written to the object store; then one transaction records the message
   (``hl7_messages``), applies it (maps it to FHIR and writes the resources) and records the
   outcome.  Only once it is committed is anything answered: AA.  If storage fails, nothing
   stays behind and the sender gets AE, keeps the message and sends it again.
3. A version or message type Yilian does not take gets AR; a content error gets AE with an ERR
   segment naming the field and the reason — whatever the sender got wrong, from the encoding
   characters (MSH-2) and the bytes of its encoding to a time zone, a number or a control
   character in a name.  Either way the message stays archived (``failed`` or ``rejected``,
   what it wrote undone) for an admin to see and replay.  A message whose control id (MSH-10)
   this sender already had applied gets AA and is not applied again.
4. "Send again later" (AE with ERR-3 207) is kept for Yilian's own faults — storage down, a
   bug — which sending again can get past; never for what the sender has to fix.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from lab_bridge.ack import AckCode, Header, build_ack, internal_error
from lab_bridge.apply import Applied, apply
from lab_bridge.critical import raise_critical_results
from lab_bridge.decode import best_header, decoded, header_text
from lab_bridge.errors import ContentError
from lab_bridge.mapping.adt import TRIGGERS as ADT_TRIGGERS
from lab_bridge.mapping.adt import map_adt
from lab_bridge.mapping.drafts import Mapped
from lab_bridge.mapping.orders_in import map_order
from lab_bridge.mapping.oru_r01 import Context, map_oru_r01
from lab_bridge.parse import (
    SUPPORTED_VERSIONS,
    Message,
    ParseError,
    UnsupportedVersion,
    has_control_characters,
    parse,
    without_control_characters,
)
from storage import StorageError, store_object, transaction
from storage.audit import audit
from storage.db import deferred_writes
from storage.models import Hl7Message, Hl7State, LabItem, Organization
from storage.platform import Platform
from storage.registry import centre_serving, find_mllp_peer

log = logging.getLogger("yilian.mllp")

Mapper = Callable[[Message, Context], Mapped]
MAPPERS: dict[str, Mapper] = {
    "ORU^R01": map_oru_r01,
    **{f"ADT^{trigger}": map_adt for trigger in ADT_TRIGGERS},
    "OML^O21": map_order,
    "ORM^O01": map_order,
}


@dataclass(frozen=True, slots=True)
class Outcome:
    code: AckCode
    ack: bytes
    key: str | None = None
    message_id: int | None = None


@dataclass(frozen=True, slots=True)
class _Peer:
    id: str
    org: str
    encoding: str


def _header(message: Message) -> Header:
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


def answer(platform: Platform, raw: bytes) -> Outcome:
    """:func:`handle_message`, and AE with ERR-3 207 if anything unforeseen goes wrong (the
    sender keeps the message and sends it again; whatever was archived stays)."""
    try:
        return handle_message(platform, raw)
    except Exception:
        log.exception("HL7 message not handled: internal error")
        header = best_header(raw)
        return _answer(
            _header(header) if header else Header(), "utf-8", AckCode.ERROR,
            "internal error, send again later", internal=True,
        )  # fmt: skip


def handle_message(platform: Platform, raw: bytes) -> Outcome:
    try:
        message = parse(header_text(raw))
    except UnsupportedVersion as exc:
        message = exc.message  # archived, then refused with its reason
    except ParseError as exc:
        log.warning("unparseable HL7 message rejected", extra={"reason": str(exc)})
        header = _header(exc.header) if exc.header else Header()
        return _answer(header, "utf-8", AckCode.REJECT, "message header (MSH) cannot be parsed")
    header = _header(message)
    if has_control_characters(header.sending_application + header.sending_facility):
        peer = None  # no registered sender is named so (and PostgreSQL takes no NUL)
    else:
        try:
            with transaction(platform.sessions) as session:
                found = find_mllp_peer(session, header.sending_application, header.sending_facility)
                peer = _Peer(found.id, found.org_id, found.encoding) if found else None
        except StorageError:
            return _answer(
                header, "utf-8", AckCode.ERROR, "registry unavailable, send again later",
                internal=True,
            )  # fmt: skip
    if peer is None:
        log.warning("HL7 message from unregistered sender rejected")
        return _answer(
            header, "utf-8", AckCode.REJECT, "sending application/facility not registered"
        )
    message, encoding = decoded(raw, message, peer.encoding)
    return _receive(platform, raw, message, _header(message), peer, encoding)


def _receive(
    platform: Platform, raw: bytes, message: Message, header: Header, peer: _Peer, encoding: str
) -> Outcome:
    now = datetime.now(UTC)
    key = f"hl7/{now:%Y/%m/%d}/{peer.id}/{now:%H%M%S}-{uuid.uuid4().hex}.hl7"
    outcome: list[tuple[int, Processed]] = []

    def record_and_apply(session: Session, _info: object) -> None:
        session.flush()  # the stored object's row first: the message row refers to it
        row = Hl7Message(
            peer_id=peer.id,
            control_id=without_control_characters(header.control_id)[:199],
            message_type=without_control_characters(header.message_type)[:20],
            version=without_control_characters(header.version)[:8],
            object_key=key,
            state=Hl7State.RECEIVED,
        )
        session.add(row)
        session.flush()
        outcome.append((row.id, process_in(session, platform, row, message, peer.org)))

    try:
        with _one_writer(platform):
            store_object(
                platform.sessions, platform.blobs, key, [raw], record_and_apply, key_is_new=True
            )
    except StorageError:
        log.error("HL7 message not stored: storage unavailable", extra={"peer": peer.id})
        return _answer(
            header, encoding, AckCode.ERROR, "storage unavailable, send again later",
            internal=True,
        )  # fmt: skip
    row_id, processed = outcome[0]
    log.info("HL7 message stored", extra={"peer": peer.id, "type": header.message_type,
                                          "ack": processed.code.value})  # fmt: skip
    ack = build_ack(header, processed.code, processed.text, processed.error)
    return Outcome(processed.code, ack.encode(encoding, "replace"), key, row_id)


_SQLITE_WRITER = threading.Lock()


def _one_writer(platform: Platform) -> AbstractContextManager[object]:
    """SQLite takes one writer at a time: messages arriving on several connections wait
    for each other here, in order, rather than in SQLite's busy handler, which sleeps in
    growing steps (seconds at the tail).  PostgreSQL writes them in parallel."""
    return _SQLITE_WRITER if platform.engine.dialect.name == "sqlite" else nullcontext()


@dataclass(frozen=True, slots=True)
class Processed:
    code: AckCode
    text: str
    error: ContentError | None = None


def process(platform: Platform, message_id: int, message: Message, org: str) -> Processed:
    """Apply an archived message again (a replay) and record what became of it."""
    with transaction(platform.sessions) as session:
        row = session.get(Hl7Message, message_id)
        assert row is not None
        return process_in(session, platform, row, message, org)


def process_in(
    session: Session, platform: Platform, row: Hl7Message, message: Message, org: str
) -> Processed:
    """Apply the message in the caller's transaction — the one that archives it, so one commit
    makes the archive, the FHIR resources and the outcome durable together.  A content error
    undoes only what the message had written (a savepoint) and is recorded on its row."""
    row.attempts += 1
    row.processed_at = datetime.now(UTC)
    version, kind = message.version, message.message_type
    if version not in SUPPORTED_VERSIONS:
        error = ContentError("MSH[1]-12", 203, f"HL7 version {version!r} is not supported")
        return _refused(row, Hl7State.REJECTED, error)
    mapper = MAPPERS.get(kind)
    if mapper is None:
        error = ContentError("MSH[1]-9", 200, f"message type {kind!r} is not taken here")
        return _refused(row, Hl7State.REJECTED, error)
    if not message.control_id:
        error = ContentError("MSH[1]-10", 101, "the message control id (MSH-10) is missing")
        return _refused(row, Hl7State.REJECTED, error)
    if message.problem is not None:  # the frame, the header or the encoding is broken
        return _refused(row, Hl7State.FAILED, message.problem)
    if _applied_before(session, row):
        row.state = Hl7State.DUPLICATE
        return Processed(AckCode.ACCEPT, "duplicate: already applied")
    try:
        with session.begin_nested(), deferred_writes(session):
            mapped = mapper(message, _context(session, platform, org))
            applied: Applied = apply(session, mapped, org)
            deadline = timedelta(minutes=platform.settings.critical_ack_minutes)
            raise_critical_results(session, applied.critical, org, deadline)
    except ContentError as error:
        log.warning("HL7 message refused", extra={"where": error.where, "code": error.code})
        return _refused(row, Hl7State.FAILED, error)
    row.state, row.error = Hl7State.PROCESSED, None
    row.resources, row.unmapped_codes = applied.written, mapped.unmapped_codes or None
    audit(
        session, channel="hl7", actor=row.peer_id, actor_org_id=org, action="create",
        outcome="success", message_type=kind, message=row.id, resources=applied.written,
    )  # fmt: skip
    return Processed(AckCode.ACCEPT, "message stored and applied")


def _applied_before(session: Session, row: Hl7Message) -> bool:
    return (
        session.scalar(
            select(Hl7Message.id).where(
                Hl7Message.peer_id == row.peer_id,
                Hl7Message.control_id == row.control_id,
                Hl7Message.state == Hl7State.PROCESSED,
                Hl7Message.id != row.id,
            )
        )
        is not None
    )


def _context(session: Session, platform: Platform, org: str) -> Context:
    known = set(session.scalars(select(Organization.id)))
    items = {
        item.code: item for item in session.scalars(select(LabItem).where(LabItem.org_id == org))
    }
    context = Context(org, known, ZoneInfo(platform.settings.local_timezone), items)
    context.lab_centre = centre_serving(session, "lab", org)
    return context


def _refused(row: Hl7Message, state: Hl7State, error: ContentError) -> Processed:
    reason = without_control_characters(f"{error.where}: {error.code}: {error.reason}")
    row.state, row.error = state, reason[:2000]
    return Processed(AckCode.REJECT if state == Hl7State.REJECTED else AckCode.ERROR,
                     error.reason, error)  # fmt: skip


def _answer(
    header: Header, encoding: str, code: AckCode, text: str, *, internal: bool = False
) -> Outcome:
    error = internal_error(text) if internal else None
    return Outcome(code, build_ack(header, code, text, error).encode(encoding, "replace"))
