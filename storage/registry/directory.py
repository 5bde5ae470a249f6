"""The alliance as its directory shows it: every organization, alliance (with its members),
shared centre (with the members it serves) and person (with their roles), in four queries."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from storage.models import Alliance, Centre, Organization, User
from storage.outbox import enqueue

# Enqueued whenever the registry changes: the gateway's worker handler republishes the directory.
CHANGED_TOPIC = "registry.changed"


@dataclass(frozen=True)
class Directory:
    organizations: list[Organization]
    alliances: list[Alliance]
    centres: list[Centre]
    users: list[User]


def read_directory(session: Session) -> Directory:
    return Directory(
        list(session.scalars(select(Organization).order_by(Organization.id))),
        list(
            session.scalars(
                select(Alliance).options(selectinload(Alliance.members)).order_by(Alliance.id)
            )
        ),
        list(
            session.scalars(select(Centre).options(selectinload(Centre.served)).order_by(Centre.id))
        ),
        list(
            session.scalars(select(User).options(selectinload(User.roles)).order_by(User.username))
        ),
    )


def registry_changed(session: Session) -> None:
    """Say, in the writer's transaction, that the directory must be published again."""
    enqueue(session, CHANGED_TOPIC, {})
