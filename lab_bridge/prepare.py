"""What receiving a message takes before anything is written, run in worker processes beside
the writer (``intake.py``): the header read, the sender found in the registry, the bytes
decoded in its encoding, the message mapped to FHIR drafts and every draft validated
(:func:`lab_bridge.apply.check`).  The writer then only looks up, writes and commits.

1. A message without a usable MSH, or from a sender that is not registered (MSH-3/MSH-4), is
   answered AR here and nothing is stored (MSA-2 is the control id if one can be found).
2. Otherwise the message is :class:`Prepared`: read, and mapped if its type is taken (what the
   sender got wrong kept as the mapping's ``error``, answered once the message is archived).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from lab_bridge.ack import AckCode, Header, Outcome, answered, header_of
from lab_bridge.apply import Checks, check
from lab_bridge.decode import decoded, header_text
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
)
from storage import StorageError
from storage.db import reading
from storage.models import LabItem, Organization
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
class Peer:
    id: str
    org: str
    encoding: str


@dataclass(frozen=True, slots=True)
class Prepared:
    message: Message
    header: Header
    peer: Peer
    encoding: str
    mapped: Mapped | None = None  # None: not mapped (a type, version or header refused)
    error: ContentError | None = None  # what the sender got wrong, found while mapping
    checks: Checks | None = None  # the drafts' validation (``apply.check``)


def prepare(platform: Platform, raw: bytes) -> Prepared | Outcome:
    """The message read, its sender found, mapped and validated; or the answer already."""
    try:
        message = parse(header_text(raw))
    except UnsupportedVersion as exc:
        message = exc.message  # archived, then refused with its reason
    except ParseError as exc:
        log.warning("unparseable HL7 message rejected", extra={"reason": str(exc)})
        header = header_of(exc.header) if exc.header else Header()
        return answered(header, "utf-8", AckCode.REJECT, "message header (MSH) cannot be parsed")
    header = header_of(message)
    if has_control_characters(header.sending_application + header.sending_facility):
        peer = None  # no registered sender is named so (and PostgreSQL takes no NUL)
    else:
        try:
            with reading(platform.sessions) as session:
                found = find_mllp_peer(session, header.sending_application, header.sending_facility)
                peer = Peer(found.id, found.org_id, found.encoding) if found else None
        except StorageError:
            return answered(
                header, "utf-8", AckCode.ERROR, "registry unavailable, send again later",
                internal=True,
            )  # fmt: skip
    if peer is None:
        log.warning("HL7 message from unregistered sender rejected")
        return answered(
            header, "utf-8", AckCode.REJECT, "sending application/facility not registered"
        )
    message, encoding = decoded(raw, message, peer.encoding)
    prepared = Prepared(message, header_of(message), peer, encoding)
    mapper = MAPPERS.get(message.message_type)
    if (
        mapper is None
        or message.version not in SUPPORTED_VERSIONS
        or not message.control_id
        or message.problem is not None
    ):
        return prepared  # refused as it is archived (``receive.process_in``)
    try:
        with reading(platform.sessions) as session:
            try:
                mapped = mapper(message, mapping_context(session, platform, peer.org))
            except ContentError as error:
                return Prepared(message, prepared.header, peer, encoding, error=error)
            checks = check(session, mapped, peer.org)
    except StorageError:
        return answered(
            prepared.header, encoding, AckCode.ERROR, "storage unavailable, send again later",
            internal=True,
        )  # fmt: skip
    return Prepared(message, prepared.header, peer, encoding, mapped, checks=checks)


_ORGANIZATIONS = select(Organization.id)
_LAB_ITEMS = select(LabItem).where(LabItem.org_id == bindparam("org"))


def mapping_context(session: Session, platform: Platform, org: str) -> Context:
    """How the sender's codes and times are read: the alliance's organizations, the lab's
    catalogue (LOINC, critical limits), the centre serving it."""
    known = set(session.scalars(_ORGANIZATIONS))
    items = {item.code: item for item in session.scalars(_LAB_ITEMS, {"org": org})}
    context = Context(org, known, ZoneInfo(platform.settings.local_timezone), items)
    context.lab_centre = centre_serving(session, "lab", org)
    return context
