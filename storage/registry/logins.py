"""People's logins as the authorization server keeps them: one-time authorization codes,
rotating refresh tokens and failed attempts.

Codes and refresh tokens are random strings handed to the client once and kept here only as
SHA-256 digests.  A code is redeemed once: ``take_code`` marks it used in the same statement
that checks it, so two replicas cannot both redeem it, and a second redemption revokes the
refresh tokens the first one gave (RFC 6749 10.5).  A refresh token is rotated on each use
(``rotate_refresh_token``): the used one stays as ``rotated`` so that, presented again, it
reveals a stolen token and revokes its whole family (one login).  The rules on top (how long,
how many failures before the login form waits) are the gateway's.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.models import AuthorizationCode, LoginFailure, RefreshToken, utcnow

# Failure counts older than this are forgotten.
FAILURES_KEPT = timedelta(days=1)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_code(
    session: Session,
    *,
    client_id: str,
    redirect_uri: str,
    code_challenge: str,
    username: str,
    scope: str,
    lifetime: timedelta,
) -> str:
    """A new authorization code for ``username``, bound to the request it answers."""
    now = utcnow()
    session.execute(delete(AuthorizationCode).where(AuthorizationCode.expires_at < now))
    code = secrets.token_urlsafe(32)
    session.add(
        AuthorizationCode(
            code_hash=digest(code),
            client_id=client_id,
            redirect_uri=redirect_uri,
            code_challenge=code_challenge,
            username=username,
            scope=scope,
            expires_at=now + lifetime,
        )
    )
    return code


def take_code(session: Session, code: str) -> AuthorizationCode | None:
    """The code's request, marked used; None when unknown, expired or used before (and then
    the refresh tokens of its first redemption are revoked)."""
    code_hash = digest(code)
    now = utcnow()
    taken = session.execute(
        update(AuthorizationCode)
        .where(
            AuthorizationCode.code_hash == code_hash,
            AuthorizationCode.used_at.is_(None),
            AuthorizationCode.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount == 1:
        return session.get(AuthorizationCode, code_hash, populate_existing=True)
    used = select(AuthorizationCode.used_at).where(AuthorizationCode.code_hash == code_hash)
    if session.scalar(used) is not None:
        revoke_family(session, code_hash)
    return None


def new_refresh_token(
    session: Session,
    *,
    family: str,
    client_id: str,
    username: str,
    scope: str,
    expires_at: datetime,
) -> str:
    now = utcnow()
    session.execute(delete(RefreshToken).where(RefreshToken.expires_at < now))
    token = secrets.token_urlsafe(32)
    session.add(
        RefreshToken(
            token_hash=digest(token),
            family=family,
            client_id=client_id,
            username=username,
            scope=scope,
            issued_at=now,
            expires_at=expires_at,
        )
    )
    return token


def rotate_refresh_token(session: Session, token: str, client_id: str) -> RefreshToken | None:
    """The refresh token's login, the token now used up; None when it is unknown, of another
    client, expired or revoked — or already used, which revokes its family."""
    row = session.get(RefreshToken, digest(token))
    now = utcnow()
    if row is None or row.client_id != client_id:
        return None
    if row.revoked_at is not None or row.expires_at <= now:
        return None
    rotated = session.execute(
        update(RefreshToken)
        .where(RefreshToken.token_hash == row.token_hash, RefreshToken.rotated_at.is_(None))
        .values(rotated_at=now)
        .execution_options(synchronize_session=False)
    )
    if rotated.rowcount != 1:
        revoke_family(session, row.family)
        return None
    return row


def revoke_refresh_token(session: Session, token: str, client_id: str) -> None:
    """End the login the refresh token belongs to (logout); an unknown token is ignored."""
    row = session.get(RefreshToken, digest(token))
    if row is not None and row.client_id == client_id:
        revoke_family(session, row.family)


def revoke_family(session: Session, family: str) -> None:
    session.execute(
        update(RefreshToken)
        .where(RefreshToken.family == family, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def login_failures(session: Session, key: str) -> tuple[int, datetime] | None:
    """Failures in a row for the key and the last one's time, if it has any."""
    row = session.get(LoginFailure, digest(key))
    return None if row is None else (row.failures, row.last_failed_at)


def note_login_failure(session: Session, key: str) -> None:
    now = utcnow()
    session.execute(delete(LoginFailure).where(LoginFailure.last_failed_at < now - FAILURES_KEPT))
    row = session.get(LoginFailure, digest(key), with_for_update=True)
    if row is not None:
        row.failures += 1
        row.last_failed_at = now
        return
    try:
        with session.begin_nested():
            session.add(LoginFailure(key=digest(key), failures=1, last_failed_at=now))
    except IntegrityError:  # another attempt counted first
        session.execute(
            update(LoginFailure)
            .where(LoginFailure.key == digest(key))
            .values(failures=LoginFailure.failures + 1, last_failed_at=now)
        )


def clear_login_failures(session: Session, key: str) -> None:
    session.execute(delete(LoginFailure).where(LoginFailure.key == digest(key)))
