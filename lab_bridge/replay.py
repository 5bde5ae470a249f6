"""Worker handler for ``hl7.replay``: an archived message applied again, as if just received
(after the cause of its failure was fixed); one already applied is left as it is."""

from __future__ import annotations

import logging
from typing import Any

from lab_bridge.decode import read
from lab_bridge.parse import ParseError
from lab_bridge.receive import process
from storage import transaction
from storage.models import Hl7Message, Hl7State, MllpPeer
from storage.platform import Platform

log = logging.getLogger("yilian.mllp")


def replay_message(platform: Platform, payload: dict[str, Any]) -> None:
    with transaction(platform.sessions) as session:
        row = session.get(Hl7Message, int(payload["message"]))
        if row is None or row.state == Hl7State.PROCESSED:
            return
        peer = session.get(MllpPeer, row.peer_id)
        assert peer is not None
        key, org, encoding = row.object_key, peer.org_id, peer.encoding
    raw = b"".join(platform.blobs.get(key))
    try:
        message = read(raw, encoding)
    except ParseError:
        log.warning("archived HL7 message cannot be parsed; not replayed")
        return
    outcome = process(platform, int(payload["message"]), message, org)
    log.info("HL7 message replayed", extra={"ack": outcome.code.value})
