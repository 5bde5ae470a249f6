"""The log of received HL7 messages, as an administrator reads it: what came from which
peer, what became of it and why (never the message's content: that stays in the archive)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Hl7Message, MllpPeer
from storage.outbox import enqueue

REPLAY_TOPIC = "hl7.replay"


def messages_of(
    session: Session, orgs: set[str], state: str | None = None, limit: int = 100
) -> list[tuple[Hl7Message, MllpPeer]]:
    """The newest messages from the peers of ``orgs`` (optionally in one state)."""
    statement = (
        select(Hl7Message, MllpPeer)
        .join(MllpPeer, MllpPeer.id == Hl7Message.peer_id)
        .where(MllpPeer.org_id.in_(orgs))
    )
    if state is not None:
        statement = statement.where(Hl7Message.state == state)
    rows = session.execute(statement.order_by(Hl7Message.id.desc()).limit(limit))
    return [(message, peer) for message, peer in rows]


def request_replay(session: Session, message_id: int, orgs: set[str]) -> Hl7Message | None:
    """Have the lab bridge apply an archived message again (the worker runs it); None when
    there is no such message from a peer of ``orgs``."""
    found = session.execute(
        select(Hl7Message)
        .join(MllpPeer, MllpPeer.id == Hl7Message.peer_id)
        .where(Hl7Message.id == message_id, MllpPeer.org_id.in_(orgs))
    ).scalar_one_or_none()
    if found is not None:
        enqueue(session, REPLAY_TOPIC, {"message": message_id})
    return found
