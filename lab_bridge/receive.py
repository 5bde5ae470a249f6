"""What happens to one received HL7 message once it is prepared (``prepare.py``: read, its
sender found, mapped and validated) and its raw bytes are durable in the object store.

1. One transaction — shared with the other messages of its commit group (``group_commit.py``)
   — records the message (``stored_objects``, ``hl7_messages``),
   applies it (writes its FHIR resources, raises its critical values) and records the outcome.
   Only once that transaction is committed is anything answered: AA.  If storage fails,
   nothing stays behind and the sender gets AE, keeps the message and sends it again.
2. A version or message type Yilian does not take gets AR; a content error gets AE with an ERR
   segment naming the field and the reason — whatever the sender got wrong, from the encoding
   characters (MSH-2) and the bytes of its encoding to a time zone, a number or a control
   character in a name.  Either way the message stays archived (``failed`` or ``rejected``,
   what it wrote undone) for an admin to see and replay.  A message whose control id (MSH-10)
   this sender already had applied gets AA and is not applied again.
3. "Send again later" (AE with ERR-3 207) is kept for Yilian's own faults — storage down, a
   bug — which sending again can get past; never for what the sender has to fix.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from lab_bridge.ack import AckCode
from lab_bridge.apply import Applied, apply
from lab_bridge.critical import raise_critical_results
from lab_bridge.errors import ContentError
from lab_bridge.parse import SUPPORTED_VERSIONS, Message, without_control_characters
from lab_bridge.prepare import MAPPERS, Prepared, mapping_context
from storage import transaction
from storage.audit import audit
from storage.blobs import BlobInfo
from storage.db import add_rows, deferred_writes
from storage.models import Hl7Message, Hl7State, StoredObject
from storage.platform import Platform

log = logging.getLogger("yilian.mllp")


@dataclass(frozen=True, slots=True)
class Processed:
    code: AckCode
    text: str
    error: ContentError | None = None


Sent = tuple[str, str]  # (peer, control id): what a re-sent message repeats


def sent(prepared: Prepared) -> Sent:
    return prepared.peer.id, without_control_characters(prepared.header.control_id)[:199]


def applied_already(
    session: Session, messages: list[Sent], besides: int | None = None
) -> set[Sent]:
    """Which of ``messages`` their sender had applied (archived messages other than the one
    ``besides``): one query for a commit group.  The states are compared here, not in SQL: with
    ``state`` in the query SQLite's planner took the index on state and read every processed
    message (a cost growing with the archive), not the few rows of these control ids."""
    query = select(Hl7Message.peer_id, Hl7Message.control_id, Hl7Message.state).where(
        Hl7Message.peer_id.in_({peer for peer, _ in messages}),
        Hl7Message.control_id.in_({control for _, control in messages}),
    )
    if besides is not None:
        query = query.where(Hl7Message.id != besides)
    rows = session.execute(query)
    wanted = set(messages)
    return {(p, c) for p, c, state in rows if state == Hl7State.PROCESSED and (p, c) in wanted}


def record(
    session: Session, platform: Platform, prepared: Prepared, stored: BlobInfo, applied: set[Sent]
) -> tuple[int, Processed]:
    """Archive the message whose bytes are ``stored`` and apply it, in the caller's
    transaction; its ``hl7_messages`` id and what became of it.  ``applied``: the messages
    already applied (:func:`applied_already`, and those of this transaction, which this adds
    to).  Its row is written once, with its outcome, and without the ORM (the writer of a
    commit group does this for every message)."""
    # The stored object's row first (the message's refers to it).
    add_rows(session, StoredObject, [{"key": stored.key, "size": stored.size,
                                      "sha256": stored.sha256}])  # fmt: skip
    header = prepared.header
    (peer, control_id), org = sent(prepared), prepared.peer.org
    processed, outcome = process_in(
        session, platform, prepared.message, org,
        duplicate=(peer, control_id) in applied, prepared=prepared,
    )  # fmt: skip
    if outcome.state == Hl7State.PROCESSED:
        applied.add((peer, control_id))
    row = {
        "peer_id": peer, "control_id": control_id,
        "message_type": without_control_characters(header.message_type)[:20],
        "version": without_control_characters(header.version)[:8],
        "object_key": stored.key, "attempts": 1, "processed_at": datetime.now(UTC),
        **outcome.columns(),
    }  # fmt: skip
    message_id = session.execute(_ARCHIVED, row).scalar_one()
    _audit(session, peer, org, prepared.message, message_id, outcome)
    return message_id, processed


# A Core statement, built once: the ORM's insert of an entity costs more than the write.
_ARCHIVED = insert(Hl7Message.__table__).returning(Hl7Message.__table__.c.id)


def process(platform: Platform, message_id: int, message: Message, org: str) -> Processed:
    """Apply an archived message again (a replay) and record what became of it."""
    with transaction(platform.sessions) as session:
        row = session.get(Hl7Message, message_id)
        assert row is not None
        duplicate = bool(applied_already(session, [(row.peer_id, row.control_id)], row.id))
        processed, outcome = process_in(session, platform, message, org, duplicate=duplicate)
        row.attempts += 1
        row.processed_at = datetime.now(UTC)
        for column, value in outcome.columns().items():
            setattr(row, column, value)
        _audit(session, row.peer_id, org, message, row.id, outcome)
        return processed


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a message's archive row records of its processing."""

    state: str
    error: str | None = None
    resources: list[str] | None = None
    unmapped_codes: list[str] | None = None

    def columns(self) -> dict[str, Any]:
        return {"state": self.state, "error": self.error, "resources": self.resources,
                "unmapped_codes": self.unmapped_codes}  # fmt: skip


def process_in(
    session: Session,
    platform: Platform,
    message: Message,
    org: str,
    *,
    duplicate: bool,
    prepared: Prepared | None = None,
) -> tuple[Processed, Outcome]:
    """Apply the message in the caller's transaction — the one that archives it, so one commit
    makes the archive, the FHIR resources and the outcome durable together.  A content error
    undoes only what the message had written (a savepoint).  ``prepared``: the message as a
    worker mapped and validated it; else it is mapped here.  ``duplicate``: its sender had it
    applied already.  The caller records the outcome."""
    version, kind = message.version, message.message_type
    if version not in SUPPORTED_VERSIONS:
        error = ContentError("MSH[1]-12", 203, f"HL7 version {version!r} is not supported")
        return _refused(Hl7State.REJECTED, error)
    mapper = MAPPERS.get(kind)
    if mapper is None:
        error = ContentError("MSH[1]-9", 200, f"message type {kind!r} is not taken here")
        return _refused(Hl7State.REJECTED, error)
    if not message.control_id:
        error = ContentError("MSH[1]-10", 101, "the message control id (MSH-10) is missing")
        return _refused(Hl7State.REJECTED, error)
    if message.problem is not None:  # the frame, the header or the encoding is broken
        return _refused(Hl7State.FAILED, message.problem)
    if duplicate:
        return Processed(AckCode.ACCEPT, "duplicate: already applied"), Outcome(Hl7State.DUPLICATE)
    try:
        with session.begin_nested(), deferred_writes(session):
            if prepared is None:
                mapped = mapper(message, mapping_context(session, platform, org))
                checks = None
            elif prepared.error is not None:
                raise prepared.error
            else:
                assert prepared.mapped is not None
                mapped, checks = prepared.mapped, prepared.checks
            applied: Applied = apply(session, mapped, org, checks)
            deadline = timedelta(minutes=platform.settings.critical_ack_minutes)
            raise_critical_results(session, applied.critical, org, deadline)
    except ContentError as error:
        log.warning("HL7 message refused", extra={"where": error.where, "code": error.code})
        return _refused(Hl7State.FAILED, error)
    outcome = Outcome(Hl7State.PROCESSED, None, applied.written, mapped.unmapped_codes or None)
    return Processed(AckCode.ACCEPT, "message stored and applied"), outcome


def _audit(
    session: Session, peer: str, org: str, message: Message, message_id: int, outcome: Outcome
) -> None:
    if outcome.state == Hl7State.PROCESSED:
        audit(
            session, channel="hl7", actor=peer, actor_org_id=org, action="create",
            outcome="success", message_type=message.message_type, message=message_id,
            resources=outcome.resources,
        )  # fmt: skip


def _refused(state: str, error: ContentError) -> tuple[Processed, Outcome]:
    reason = without_control_characters(f"{error.where}: {error.code}: {error.reason}")
    code = AckCode.REJECT if state == Hl7State.REJECTED else AckCode.ERROR
    return Processed(code, error.reason, error), Outcome(state, reason[:2000])
