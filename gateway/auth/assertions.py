"""SMART Backend Services (SMART App Launch 2; RFC 7523): a system authenticates with a JWT it
signs with its private key, checked against the public keys the alliance registered for it
(``private_key_jwt``): ``iss`` and ``sub`` its client id, ``aud`` this token endpoint, signed
RS384 or ES384, expiring within five minutes, and its ``jti`` used once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
from sqlalchemy.orm import Session

from storage.models import ApiClient
from storage.registry import client_keys, take_assertion
from storage.registry.assertions import ASSERTION_ALGORITHMS

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
LONGEST = timedelta(minutes=5)
LEEWAY = timedelta(seconds=30)  # clocks of the alliance's servers differ a little


class BadAssertion(Exception):
    """Why the assertion does not authenticate its client (said to the client)."""


def verify_assertion(session: Session, assertion: str, token_url: str) -> ApiClient:
    try:
        header = jwt.get_unverified_header(assertion)
        claimed = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise BadAssertion("client_assertion is not a JWT") from None
    client_id = claimed.get("iss")
    if not isinstance(client_id, str) or claimed.get("sub") != client_id:
        raise BadAssertion("iss and sub must both be the client id")
    found = client_keys(session, client_id)
    if found is None:
        raise BadAssertion("unknown client, or no public keys registered for it")
    client, jwks = found
    claims = _verified(assertion, jwks, header.get("kid"), token_url)
    expires = datetime.fromtimestamp(claims["exp"], UTC)
    if expires > datetime.now(UTC) + LONGEST + LEEWAY:
        raise BadAssertion("the assertion may expire at most five minutes from now")
    if not take_assertion(session, client_id, str(claims["jti"]), expires):
        raise BadAssertion("this assertion was used already (jti)")
    return client


def _verified(assertion: str, jwks: dict, kid: str | None, token_url: str) -> dict:
    candidates = [k for k in jwks["keys"] if kid is None or k.get("kid") == kid]
    for key in candidates:
        try:
            return jwt.decode(
                assertion,
                jwt.PyJWK(key).key,
                algorithms=list(ASSERTION_ALGORITHMS),
                audience=token_url,
                leeway=LEEWAY,
                options={"require": ["iss", "sub", "aud", "exp", "jti"]},
            )
        except jwt.InvalidSignatureError:
            continue
        except jwt.PyJWTError as exc:
            raise BadAssertion(f"the assertion is not valid: {exc}") from None
    raise BadAssertion("no registered key of the client verifies the assertion's signature")
