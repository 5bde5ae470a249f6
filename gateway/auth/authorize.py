"""``/auth/authorize``: the authorization endpoint of OAuth 2.1 / SMART App Launch for people.

GET checks the request (a registered public client, one of its exact redirect URIs, response
type ``code``, an S256 code challenge, valid scopes) and shows the login form; POST checks the
user name and password against the registry and sends the browser back to the app with a
one-time code bound to the client, the redirect URI and the challenge.  Errors go back to the
app (``error`` and ``state`` on the redirect URI) only once the redirect URI is known to be the
client's; before that they are shown on the page (RFC 6749 4.1.2.1).

The form is bound to its request: it carries the request as a short-lived token signed with
the gateway's key, which also names a random value set as a same-site cookie when the form was
shown.  Another site can neither forge the request nor post the form for the user.  Failed
attempts per user name and per client address make the next attempt wait (``people``).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import jwt
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from gateway.auth import login_page, people
from gateway.auth.grants import authenticate_person
from gateway.auth.routes import public_base
from gateway.auth.scopes import InvalidScope
from gateway.auth.tokens import ALGORITHM, ISSUER, KeyRing, Requester
from storage.db import transaction
from storage.platform import Platform
from storage.registry import new_code

COOKIE = "yilian_login"
TICKET_AUDIENCE = "yilian/authorize"
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def _digest(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()


class _Refused(Exception):
    """The request cannot go back to the client: shown on the page."""


def _back_to_client(redirect_uri: str, **params: str) -> RedirectResponse:
    query = urlencode({k: v for k, v in params.items() if v})
    separator = "&" if urlsplit(redirect_uri).query else "?"
    return RedirectResponse(f"{redirect_uri}{separator}{query}", status_code=303)


def _page(html: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(html, status_code=status, headers=PAGE_HEADERS)


def _redirect_uri(client_id: str, redirect_uri: str, base: str) -> str:
    client = people.PUBLIC_CLIENTS.get(client_id)
    if client is None:
        raise _Refused("unknown client_id")
    allowed = client.redirect_uris(base)
    if not redirect_uri and len(allowed) == 1:
        return allowed[0]
    if redirect_uri not in allowed:
        raise _Refused("redirect_uri is not registered for this client")
    return redirect_uri


def _switch_url(query: str, lang: str) -> str:
    other = "en" if lang == "zh-CN" else "zh-CN"
    params = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k != "ui_locales"]
    return f"/auth/authorize?{urlencode([*params, ('ui_locales', other)])}"


def router(platform: Platform, keys: KeyRing) -> APIRouter:
    api = APIRouter(tags=["authorization"])

    def ticket(claims: dict[str, Any]) -> str:
        kid, key = keys.signing_key()
        now = int(time.time())
        lifetime = int(people.REQUEST_LIFETIME.total_seconds())
        body = {**claims, "iss": ISSUER, "aud": TICKET_AUDIENCE, "iat": now, "exp": now + lifetime}
        return jwt.encode(body, key, algorithm=ALGORITHM, headers={"kid": kid})

    def read_ticket(token: str, nonce: str | None) -> dict[str, Any] | None:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            key = keys.public_key(kid) if isinstance(kid, str) else None
            if key is None:
                return None
            claims = jwt.decode(
                token, key, algorithms=[ALGORITHM], issuer=ISSUER, audience=TICKET_AUDIENCE
            )
        except jwt.PyJWTError:
            return None
        if not nonce or not secrets.compare_digest(claims.get("nonce", ""), _digest(nonce)):
            return None
        return claims

    @api.get("/auth/authorize", response_class=HTMLResponse)
    async def authorize(request: Request) -> Response:
        """Show the login form for a valid authorization request."""
        query = request.query_params
        lang = login_page.pick_language(query.get("ui_locales", ""))
        base = public_base(request, platform)
        try:
            redirect_uri = _redirect_uri(
                query.get("client_id", ""), query.get("redirect_uri", ""), base
            )
        except _Refused as exc:
            reason = login_page.TEXTS[lang]["bad_request"].format(reason=exc)
            return _page(login_page.error_page(lang, reason), 400)
        state = query.get("state", "")
        refusal = _refusal(query, base)
        if refusal is not None:
            error, description = refusal
            return _back_to_client(
                redirect_uri, error=error, error_description=description, state=state
            )
        nonce = secrets.token_urlsafe(24)
        claims = {
            "client_id": query["client_id"],
            "redirect_uri": redirect_uri,
            "code_challenge": query["code_challenge"],
            "scope": query.get("scope", ""),
            "state": state,
            "lang": lang,
            "query": str(request.url.query),
            "nonce": _digest(nonce),
        }
        signed = await run_in_threadpool(ticket, claims)
        html = login_page.login_form(
            lang, ticket=signed, switch_url=_switch_url(str(request.url.query), lang)
        )
        answer = _page(html)
        answer.set_cookie(
            COOKIE,
            nonce,
            max_age=int(people.REQUEST_LIFETIME.total_seconds()),
            path="/auth/authorize",
            secure=base.startswith("https:"),
            httponly=True,
            samesite="strict",
        )
        return answer

    @api.post("/auth/authorize", response_class=HTMLResponse, include_in_schema=False)
    async def log_in(
        request: Request,
        form_request: Annotated[str, Form(alias="request")] = "",
        username: Annotated[str, Form()] = "",
        password: Annotated[str, Form()] = "",
    ) -> Response:
        """Check the user name and password; send the browser back with a code."""
        claims = await run_in_threadpool(read_ticket, form_request, request.cookies.get(COOKIE))
        if claims is None:
            expired = login_page.TEXTS["zh-CN"]["expired"]
            return _page(login_page.error_page("zh-CN", expired), 400)
        lang = claims["lang"]
        text = login_page.TEXTS[lang]

        def form_again(message: str, status: int = 200) -> HTMLResponse:
            switch = _switch_url(claims["query"], lang)
            html = login_page.login_form(
                lang, ticket=form_request, switch_url=switch, username=username, message=message
            )
            return _page(html, status)

        if not username.strip() or not password:
            return form_again(text["missing"])
        address = request.client.host if request.client else "unknown"
        outcome = await run_in_threadpool(_log_in, platform, claims, username, password, address)
        if isinstance(outcome, float):
            return form_again(text["wait"].format(seconds=max(int(outcome + 0.999), 1)), 429)
        if outcome is None:
            return form_again(text["wrong"])
        code, error = outcome
        if error:
            return _back_to_client(
                claims["redirect_uri"], error=error, state=claims["state"],
                error_description="none of the requested scopes is allowed to this user",
            )  # fmt: skip
        answer = _back_to_client(claims["redirect_uri"], code=code, state=claims["state"])
        answer.delete_cookie(COOKIE, path="/auth/authorize")
        return answer

    return api


def _refusal(query: Mapping[str, str], base: str) -> tuple[str, str] | None:
    """Why a request with a good client and redirect URI is refused, if it is."""
    if query.get("response_type") != "code":
        return "unsupported_response_type", "only response_type=code is supported"
    challenge = query.get("code_challenge", "")
    if not challenge:
        return "invalid_request", "code_challenge is required (PKCE)"
    if query.get("code_challenge_method") != "S256":
        return "invalid_request", "code_challenge_method must be S256"
    if not people.valid_challenge(challenge):
        return "invalid_request", "code_challenge must be 43 base64url characters (S256)"
    audience = query.get("aud", "")
    if audience and audience.rstrip("/") != f"{base}/fhir":
        return "invalid_request", f"aud must be this server's FHIR base {base}/fhir"
    try:
        people.data_scopes(query.get("scope", ""))
    except InvalidScope as exc:
        return "invalid_scope", str(exc)
    return None


def _log_in(
    platform: Platform, claims: dict[str, Any], username: str, password: str, address: str
) -> float | tuple[str, str] | None:
    """The seconds to wait, None for wrong credentials, or ``(code, error)``."""
    person = authenticate_person(platform, username, password, address, claims["scope"])
    if not isinstance(person, Requester):
        return person
    if people.data_scopes(claims["scope"]) and not person.scopes.granted:
        return "", "invalid_scope"
    with transaction(platform.sessions) as session:
        code = new_code(
            session,
            client_id=claims["client_id"],
            redirect_uri=claims["redirect_uri"],
            code_challenge=claims["code_challenge"],
            username=person.subject,
            scope=claims["scope"],
            lifetime=people.CODE_LIFETIME,
        )
    return code, ""
