"""The token signing keys, newest first (see ``storage.models.auth``)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import SigningKey


def signing_keys(session: Session) -> list[SigningKey]:
    return list(session.scalars(select(SigningKey).order_by(SigningKey.created_at.desc())))


def add_signing_key(session: Session, kid: str, algorithm: str, private_pem: str) -> None:
    session.add(SigningKey(kid=kid, algorithm=algorithm, private_pem=private_pem))
