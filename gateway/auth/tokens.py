"""Access tokens: JWTs signed with the newest key in the database (ES256), verified with any.

Claims: ``sub`` (client id or user name), ``org`` (the organization acted for), ``scope``,
``kind`` (client or user), ``roles`` (people only), ``iat``/``exp``/``jti``.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Literal

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy.orm import Session, sessionmaker

from gateway.auth.scopes import Scopes
from storage.db import transaction
from storage.registry import add_signing_key, signing_keys

ALGORITHM = "ES256"
ISSUER = "yilian"

Kind = Literal["client", "user"]


class InvalidToken(Exception):
    """Missing, malformed, forged or expired: the request is unauthenticated (401)."""


@dataclass(frozen=True, slots=True)
class Requester:
    subject: str
    org_id: str
    kind: Kind
    scopes: Scopes
    roles: tuple[str, ...] = ()


class KeyRing:
    """The signing keys of the database, cached; a key another replica created is picked up
    the first time a token signed with it arrives."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._lock = threading.Lock()
        self._private: dict[str, ec.EllipticCurvePrivateKey] = {}
        self._newest: str | None = None
        # Tokens already verified (a viewer sends the same one hundreds of times a minute).
        self.verified: OrderedDict[str, tuple[Requester, float]] = OrderedDict()

    def _load(self) -> None:
        with transaction(self._sessions) as session:
            rows = signing_keys(session)
            if not rows:
                key = ec.generate_private_key(ec.SECP256R1())
                pem = key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                ).decode()
                add_signing_key(session, uuid.uuid4().hex, ALGORITHM, pem)
                session.flush()
                rows = signing_keys(session)
        loaded = {
            row.kid: serialization.load_pem_private_key(row.private_pem.encode(), None)
            for row in rows
        }
        self._private = {
            k: v for k, v in loaded.items() if isinstance(v, ec.EllipticCurvePrivateKey)
        }
        self._newest = rows[0].kid

    def signing_key(self) -> tuple[str, ec.EllipticCurvePrivateKey]:
        with self._lock:
            if self._newest is None:
                self._load()
            assert self._newest is not None
            return self._newest, self._private[self._newest]

    def public_key(self, kid: str) -> ec.EllipticCurvePublicKey | None:
        with self._lock:
            if kid not in self._private:
                self._load()
            key = self._private.get(kid)
        return key.public_key() if key is not None else None

    def jwks(self) -> dict[str, Any]:
        self.signing_key()
        with self._lock:
            keys = list(self._private.items())
        return {
            "keys": [
                {
                    **jwt.algorithms.ECAlgorithm.to_jwk(key.public_key(), as_dict=True),
                    "kid": kid,
                    "alg": ALGORITHM,
                    "use": "sig",
                }
                for kid, key in keys
            ]
        }


def issue(keys: KeyRing, requester: Requester, lifetime_seconds: int) -> str:
    kid, key = keys.signing_key()
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": requester.subject,
        "org": requester.org_id,
        "kind": requester.kind,
        "scope": str(requester.scopes),
        "iat": now,
        "exp": now + lifetime_seconds,
        "jti": uuid.uuid4().hex,
    }
    if requester.roles:
        claims["roles"] = list(requester.roles)
    return jwt.encode(claims, key, algorithm=ALGORITHM, headers={"kid": kid})


VERIFIED_CACHE_SIZE = 10_000


def verify(keys: KeyRing, token: str) -> Requester:
    known = keys.verified.get(token)
    if known is not None:
        if known[1] > time.time():
            return known[0]
        keys.verified.pop(token, None)
        raise InvalidToken("token expired")
    requester, expires = _decode(keys, token)
    keys.verified[token] = (requester, expires)
    while len(keys.verified) > VERIFIED_CACHE_SIZE:
        keys.verified.popitem(last=False)
    return requester


def _decode(keys: KeyRing, token: str) -> tuple[Requester, float]:
    try:
        kid = jwt.get_unverified_header(token).get("kid")
        key = keys.public_key(kid) if isinstance(kid, str) else None
        if key is None:
            raise InvalidToken("token signed with an unknown key")
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "org", "scope", "kind"]},
        )
        requester = Requester(
            subject=str(claims["sub"]),
            org_id=str(claims["org"]),
            kind="user" if claims["kind"] == "user" else "client",
            scopes=Scopes.parse(str(claims["scope"])),
            roles=tuple(str(r) for r in claims.get("roles", [])),
        )
        return requester, float(claims["exp"])
    except jwt.ExpiredSignatureError:
        raise InvalidToken("token expired") from None
    except (jwt.InvalidTokenError, ValueError) as exc:
        raise InvalidToken(f"invalid token: {type(exc).__name__}") from None
