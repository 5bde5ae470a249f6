"""SMART Backend Services clients: their registered public keys, and the assertions they have
used (an assertion's ``jti`` is taken once; RFC 7523 3)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.models import ApiClient, ClientAssertion

# The signing algorithms a client's assertions may use (SMART Backend Services).
ASSERTION_ALGORITHMS = ("RS384", "ES384")


def public_key_set(jwks: dict[str, Any]) -> dict[str, Any]:
    """``jwks`` when it is a JWK Set of public RSA or EC keys for those algorithms."""
    keys = jwks.get("keys")
    if not isinstance(keys, list) or not keys:
        raise ValueError("a JWK Set has a non-empty 'keys' array")
    for key in keys:
        if not isinstance(key, dict) or key.get("kty") not in ("RSA", "EC"):
            raise ValueError("each key is an RSA or EC JWK")
        if "d" in key:
            raise ValueError("a private key was given: register the public key only")
        if key.get("alg", ASSERTION_ALGORITHMS[0]) not in ASSERTION_ALGORITHMS:
            raise ValueError(f"keys sign with {' or '.join(ASSERTION_ALGORITHMS)}")
    return jwks


def client_keys(session: Session, client_id: str) -> tuple[ApiClient, dict[str, Any]] | None:
    """The client and its JWK Set, when it is registered with one."""
    client = session.get(ApiClient, client_id)
    if client is None or not client.jwks:
        return None
    return client, client.jwks


def take_assertion(session: Session, client_id: str, jti: str, expires_at: datetime) -> bool:
    """Record the assertion as used; False when it was used before (a replay)."""
    session.execute(delete(ClientAssertion).where(ClientAssertion.expires_at < datetime.now(UTC)))
    try:
        with session.begin_nested():
            session.add(ClientAssertion(client_id=client_id, jti=jti, expires_at=expires_at))
    except IntegrityError:
        return False
    return True
