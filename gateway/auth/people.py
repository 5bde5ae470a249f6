"""The rules of people's logins: what each role may do (SMART user scopes), which public
clients may ask for a login and where the answer may go, PKCE (S256 only), how long codes and
tokens live, and how long the login form makes a guesser wait."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from gateway.auth.scopes import Scope, Scopes, parse_scope
from gateway.auth.tokens import Requester
from storage.models import User, utcnow

# What people may do, by role (systems get the scopes the alliance file gives their client).
ROLE_SCOPES = {
    # Specimen.u: a pathology specimen's steps (签收、接收、拒收) — the specimen rules decide.
    "reader": "user/*.rs user/DiagnosticReport.cru user/Task.ru user/ImagingStudy.c "
    "user/Specimen.u",
    "senior_reader": "user/*.rs user/DiagnosticReport.cru user/Task.ru user/ImagingStudy.c "
    "user/Specimen.u",
    # Task.u: a referral's steps (转诊接收、到院、完成) — the referral rules decide the rest;
    # DetectedIssue.c: a decision about a recognisable prior (互认 / 不互认);
    # Specimen.cru: the specimens of a pathology order and their sending (送检).
    "clinician": (
        "user/*.rs user/ServiceRequest.cruds user/Communication.ru user/Appointment.cru "
        "user/Task.ru user/DetectedIssue.c user/Specimen.cru"
    ),
    "head": "user/*.rs user/Communication.ru user/Task.ru",
    "admin": "user/*.cruds",
}

# Scopes of SMART App Launch that ask for no data: accepted and set aside (no id_token is
# issued; the app learns who logged in from /auth/userinfo and the FHIR directory).
IDENTITY_SCOPES = frozenset({"openid", "fhirUser", "offline_access", "online_access"})

CODE_LIFETIME = timedelta(minutes=2)
REQUEST_LIFETIME = timedelta(minutes=15)  # a login form may be filled in this long

# RFC 7636 4.1: 43 to 128 unreserved characters; an S256 challenge is 43 base64url ones.
_VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
_CHALLENGE = re.compile(r"^[A-Za-z0-9\-_]{43}$")


@dataclass(frozen=True, slots=True)
class PublicClient:
    """A browser app registered with the platform: no secret, PKCE instead, and answers only
    to its exact redirect URIs (paths on the gateway's own public address)."""

    client_id: str
    redirect_paths: tuple[str, ...]

    def redirect_uris(self, base: str) -> tuple[str, ...]:
        return tuple(f"{base}{path}" for path in self.redirect_paths)


WEB_APP = PublicClient("yilian-web", ("/app/callback",))
PUBLIC_CLIENTS = {WEB_APP.client_id: WEB_APP}


def user_scopes(roles: list[str]) -> Scopes:
    return Scopes.parse(" ".join(sorted({s for r in roles for s in ROLE_SCOPES[r].split()})))


def requester_of(user: User, requested: str = "") -> Requester:
    """The person as a requester: their roles' scopes, narrowed to the requested data scopes
    (all of them when none are requested)."""
    roles = [r.role for r in user.roles]
    granted = user_scopes(roles)
    wanted = data_scopes(requested)
    if wanted:
        granted = Scopes(tuple(s for s in wanted if any(g.covers(s) for g in granted.granted)))
    return Requester(user.username, user.org_id, "user", granted, tuple(roles))


def data_scopes(requested: str) -> tuple[Scope, ...]:
    """The data scopes of a ``scope`` parameter; InvalidScope for what is not one."""
    return tuple(parse_scope(s) for s in requested.split() if s not in IDENTITY_SCOPES)


def identity_scopes(requested: str) -> list[str]:
    return [s for s in requested.split() if s in IDENTITY_SCOPES]


def granted_scope(requester: Requester, requested: str) -> str:
    """The ``scope`` of a token answer: the identity scopes asked for and the data scopes."""
    return " ".join([*identity_scopes(requested), str(requester.scopes)]).strip()


def valid_challenge(challenge: str) -> bool:
    return _CHALLENGE.match(challenge) is not None


def pkce_matches(verifier: str, challenge: str) -> bool:
    """RFC 7636 S256: BASE64URL(SHA256(verifier)) without padding equals the challenge."""
    if _VERIFIER.match(verifier) is None:
        return False
    computed = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return hmac.compare_digest(computed.rstrip(b"=").decode(), challenge)


# Backoff: a user name may fail this many times in a row freely, a client address more (a
# hospital's users share one); after that each failure doubles the wait, up to the cap.  A
# login that succeeds clears both, so colleagues behind one address are not kept waiting.
FREE_FAILURES = {"user": 3, "address": 20}
LONGEST_WAIT = timedelta(minutes=5)


def throttle_keys(username: str, address: str) -> dict[str, str]:
    return {"user": f"user:{username.strip().lower()}", "address": f"address:{address}"}


def wait_seconds(kind: str, failures: int, last_failed_at: datetime) -> float:
    """How long the next attempt must wait after ``failures`` in a row."""
    beyond = failures - FREE_FAILURES[kind]
    if beyond <= 0:
        return 0.0
    wait = min(timedelta(seconds=2**beyond), LONGEST_WAIT)
    return max((last_failed_at + wait - utcnow()).total_seconds(), 0.0)
