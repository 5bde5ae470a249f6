"""Read the alliance registry: who may connect, and which organization they speak for."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, joinedload, selectinload

from storage.models import AETitle, ApiClient, Centre, CentreServed, MllpPeer, Role, User, UserRole
from storage.registry.secrets import hash_secret, verify_secret


@dataclass(frozen=True, slots=True)
class RegisteredAE:
    ae_title: str
    org_id: str
    kind: str
    host: str | None
    port: int | None


def registered_ae_titles(session: Session) -> dict[str, RegisteredAE]:
    return {
        row.ae_title: RegisteredAE(row.ae_title, row.org_id, row.kind, row.host, row.port)
        for row in session.scalars(select(AETitle))
    }


# Statements asked for every HL7 message, built once (building one costs about as much as
# running it).
_MLLP_PEER = select(MllpPeer).where(
    MllpPeer.sending_application == bindparam("application"),
    MllpPeer.sending_facility == bindparam("facility"),
)
_SERVING_CENTRE = (
    select(Centre)
    .join(CentreServed, CentreServed.centre_id == Centre.id)
    .where(Centre.kind == bindparam("kind"), CentreServed.org_id == bindparam("org"))
    .order_by(Centre.id)
    .limit(1)
)


def find_mllp_peer(session: Session, application: str, facility: str) -> MllpPeer | None:
    found = session.scalars(_MLLP_PEER, {"application": application, "facility": facility})
    return found.one_or_none()


def authenticate_client(session: Session, client_id: str, secret: str) -> ApiClient | None:
    client = session.get(ApiClient, client_id)
    if client is None or client.secret_hash is None:
        return None
    return client if verify_secret(client.secret_hash, secret) else None


# Checked when the user name is unknown, so that an answer takes as long either way and does
# not tell which user names exist.
_NOBODY = hash_secret(secrets.token_urlsafe(16))


def authenticate_user(session: Session, username: str, password: str) -> User | None:
    user = session.get(User, username)
    if user is None:
        verify_secret(_NOBODY, password)
        return None
    return user if verify_secret(user.password_hash, password) else None


def find_user(session: Session, username: str) -> User | None:
    """The person with their roles and organization."""
    return session.scalars(
        select(User)
        .options(selectinload(User.roles), joinedload(User.organization))
        .where(User.username == username)
    ).one_or_none()


def serving_centre(session: Session, kind: str, org_id: str) -> Centre | None:
    """The centre of ``kind`` (lab, imaging…) that serves ``org_id``."""
    return session.scalars(_SERVING_CENTRE, {"kind": kind, "org": org_id}).first()


def centres_of(session: Session, orgs: set[str]) -> set[str]:
    """The ids of the centres ``orgs`` run."""
    return set(session.scalars(select(Centre.id).where(Centre.org_id.in_(orgs))))


def centres_of_kind(session: Session, kind: str) -> set[str]:
    """The ids of every centre of ``kind`` (ecg, imaging …)."""
    return set(session.scalars(select(Centre.id).where(Centre.kind == kind)))


def centre_serving(session: Session, kind: str, org_id: str) -> str | None:
    """The organization whose centre of ``kind`` serves ``org_id``."""
    centre = serving_centre(session, kind, org_id)
    return centre.org_id if centre is not None else None


def heads_of(session: Session, org_id: str) -> list[User]:
    """The organization's people with the ``head`` role (负责人), by username."""
    return list(
        session.scalars(
            select(User)
            .join(UserRole, UserRole.username == User.username)
            .where(User.org_id == org_id, UserRole.role == Role.HEAD.value)
            .order_by(User.username)
        )
    )
