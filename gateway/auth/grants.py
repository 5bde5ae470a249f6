"""What the token endpoint does for people: checking a password (with the backoff that makes
guessing slow), redeeming an authorization code (PKCE), rotating a refresh token, and ending a
login (logout revokes its refresh tokens).  Access tokens are issued by ``tokens.issue`` like
every other; their lifetime is short and the refresh token renews them until the login ends."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from gateway.auth import people
from gateway.auth.tokens import KeyRing, Requester, issue
from storage.db import transaction
from storage.models import utcnow
from storage.platform import Platform
from storage.registry import (
    authenticate_user,
    clear_login_failures,
    find_user,
    login_failures,
    new_refresh_token,
    note_login_failure,
    revoke_refresh_token,
    rotate_refresh_token,
    take_code,
)

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def oauth_error(error: str, description: str, status: int = 400) -> JSONResponse:
    headers = {"WWW-Authenticate": 'Basic realm="yilian"'} if status == 401 else {}
    return JSONResponse(
        {"error": error, "error_description": description},
        status_code=status,
        headers={**headers, **NO_STORE},
    )


def authenticate_person(
    platform: Platform, username: str, password: str, address: str, scope: str = ""
) -> Requester | float | None:
    """The person as a requester; None for a wrong user name or password; or, after too many
    failures in a row for the user name or the client's address, the seconds to wait (the
    password is then not even checked)."""
    throttled = people.throttle_keys(username, address)
    with transaction(platform.sessions) as session:
        waits = [
            people.wait_seconds(kind, *found)
            for kind, key in throttled.items()
            if (found := login_failures(session, key)) is not None
        ]
    if max(waits, default=0.0) > 0:
        return max(waits)
    with transaction(platform.sessions) as session:
        user = authenticate_user(session, username.strip(), password)
        if user is None:
            for key in throttled.values():
                note_login_failure(session, key)
            return None
        for key in throttled.values():
            clear_login_failures(session, key)
        return people.requester_of(user, scope)


def _token_answer(
    keys: KeyRing, requester: Requester, lifetime: int, scope: str, refresh_token: str
) -> JSONResponse:
    return JSONResponse(
        {
            "access_token": issue(keys, requester, lifetime),
            "token_type": "Bearer",
            "expires_in": lifetime,
            "scope": people.granted_scope(requester, scope),
            "refresh_token": refresh_token,
        },
        headers=NO_STORE,
    )


def _public_client(form: Mapping[str, str]) -> JSONResponse | None:
    if form["client_id"] not in people.PUBLIC_CLIENTS:
        return oauth_error("invalid_client", "unknown public client_id", 401)
    return None


async def authorization_code(
    platform: Platform, keys: KeyRing, form: Mapping[str, str]
) -> JSONResponse:
    """``grant_type=authorization_code``: the code, once, with the same client and redirect
    URI as its request and the verifier of its challenge."""
    missing = [n for n in ("code", "redirect_uri", "code_verifier", "client_id") if not form[n]]
    if missing:
        return oauth_error("invalid_request", f"{', '.join(missing)} required")
    refused = _public_client(form)
    if refused is not None:
        return refused
    return await run_in_threadpool(_redeem, platform, keys, form)


def _redeem(platform: Platform, keys: KeyRing, form: Mapping[str, str]) -> JSONResponse:
    settings = platform.settings
    with transaction(platform.sessions) as session:
        code = take_code(session, form["code"])
        if code is None:
            return oauth_error("invalid_grant", "the code is unknown, expired or already used")
        if code.client_id != form["client_id"]:
            return oauth_error("invalid_grant", "the code was issued to another client")
        if code.redirect_uri != form["redirect_uri"]:
            return oauth_error("invalid_grant", "redirect_uri is not the authorization request's")
        if not people.pkce_matches(form["code_verifier"], code.code_challenge):
            return oauth_error("invalid_grant", "code_verifier does not match the code_challenge")
        user = find_user(session, code.username)
        if user is None:
            return oauth_error("invalid_grant", "the user no longer exists")
        requester = people.requester_of(user, code.scope)
        refresh = new_refresh_token(
            session,
            family=code.code_hash,
            client_id=code.client_id,
            username=user.username,
            scope=code.scope,
            expires_at=utcnow() + timedelta(seconds=settings.user_token_lifetime_seconds),
        )
        scope = code.scope
    lifetime = min(settings.app_token_lifetime_seconds, settings.user_token_lifetime_seconds)
    return _token_answer(keys, requester, lifetime, scope, refresh)


async def refresh(platform: Platform, keys: KeyRing, form: Mapping[str, str]) -> JSONResponse:
    """``grant_type=refresh_token``: a new access token and a new refresh token; the old one
    is used up (presented again, it ends the login)."""
    missing = [n for n in ("refresh_token", "client_id") if not form[n]]
    if missing:
        return oauth_error("invalid_request", f"{', '.join(missing)} required")
    refused = _public_client(form)
    if refused is not None:
        return refused
    return await run_in_threadpool(_rotate, platform, keys, form)


def _rotate(platform: Platform, keys: KeyRing, form: Mapping[str, str]) -> JSONResponse:
    with transaction(platform.sessions) as session:
        used = rotate_refresh_token(session, form["refresh_token"], form["client_id"])
        if used is None:
            return oauth_error(
                "invalid_grant", "the refresh token is unknown, expired, revoked or used"
            )
        user = find_user(session, used.username)
        if user is None:
            return oauth_error("invalid_grant", "the user no longer exists")
        requester = people.requester_of(user, used.scope)
        token = new_refresh_token(
            session,
            family=used.family,
            client_id=used.client_id,
            username=user.username,
            scope=used.scope,
            expires_at=used.expires_at,
        )
        scope = used.scope
        left = int((used.expires_at - utcnow()).total_seconds())
    lifetime = max(min(platform.settings.app_token_lifetime_seconds, left), 1)
    return _token_answer(keys, requester, lifetime, scope, token)


async def log_out(platform: Platform, token: str, client_id: str) -> None:
    """End the login a refresh token belongs to (RFC 7009: unknown tokens are no error)."""

    def revoke() -> None:
        with transaction(platform.sessions) as session:
            revoke_refresh_token(session, token, client_id)

    await run_in_threadpool(revoke)
