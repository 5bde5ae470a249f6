"""OAuth2 token endpoint (RFC 6749), SMART configuration and the JWKS, plus the dependency that
turns a request's bearer token into the :class:`Requester` it acts for."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from gateway.auth.assertions import ASSERTION_TYPE, BadAssertion, verify_assertion
from gateway.auth.scopes import InvalidScope, Scopes
from gateway.auth.tokens import InvalidToken, KeyRing, Requester, issue, verify
from gateway.errors import Unauthorized
from storage.db import transaction
from storage.platform import Platform
from storage.registry import authenticate_client, authenticate_user
from storage.registry.assertions import ASSERTION_ALGORITHMS

# What people may do, by role (systems get the scopes the alliance file gives their client).
ROLE_SCOPES = {
    "reader": "user/*.rs user/DiagnosticReport.cru user/Task.ru user/ImagingStudy.c",
    "senior_reader": "user/*.rs user/DiagnosticReport.cru user/Task.ru user/ImagingStudy.c",
    "clinician": "user/*.rs user/ServiceRequest.cruds user/Communication.ru",
    "head": "user/*.rs user/Communication.ru",
    "admin": "user/*.cruds",
}


def _oauth_error(error: str, description: str, status: int = 400) -> JSONResponse:
    headers = {"WWW-Authenticate": 'Basic realm="yilian"'} if status == 401 else {}
    return JSONResponse(
        {"error": error, "error_description": description}, status_code=status, headers=headers
    )


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return client_id, secret


def _user_scopes(roles: list[str]) -> Scopes:
    return Scopes.parse(" ".join(sorted({s for r in roles for s in ROLE_SCOPES[r].split()})))


def _authenticate(
    platform: Platform, grant_type: str, form: dict[str, str], basic: tuple[str, str] | None
) -> Requester | None:
    with transaction(platform.sessions) as session:
        if grant_type == "client_credentials":
            if form["client_assertion"]:
                client = verify_assertion(session, form["client_assertion"], form["token_url"])
            else:
                client_id, secret = basic or (form["client_id"], form["client_secret"])
                client = authenticate_client(session, client_id, secret)
            if client is None:
                return None
            return Requester(client.client_id, client.org_id, "client", Scopes.parse(client.scopes))
        user = authenticate_user(session, form["username"], form["password"])
        if user is None:
            return None
        roles = [r.role for r in user.roles]
        return Requester(user.username, user.org_id, "user", _user_scopes(roles), tuple(roles))


def router(platform: Platform, keys: KeyRing) -> APIRouter:
    api = APIRouter(tags=["authorization"])
    settings = platform.settings

    @api.post("/auth/token")
    async def token(
        request: Request,
        grant_type: Annotated[str, Form()],
        scope: Annotated[str, Form()] = "",
        client_id: Annotated[str, Form()] = "",
        client_secret: Annotated[str, Form()] = "",
        username: Annotated[str, Form()] = "",
        password: Annotated[str, Form()] = "",
        client_assertion_type: Annotated[str, Form()] = "",
        client_assertion: Annotated[str, Form()] = "",
    ) -> JSONResponse:
        """``client_credentials`` for systems (a secret by HTTP Basic or in the form, or a JWT
        signed with the client's private key: SMART Backend Services); ``password`` for people
        logging in to Yilian's own web UI."""
        if grant_type not in ("client_credentials", "password"):
            return _oauth_error("unsupported_grant_type", f"grant_type {grant_type!r}")
        if client_assertion and client_assertion_type != ASSERTION_TYPE:
            return _oauth_error(
                "invalid_request", f"client_assertion_type must be {ASSERTION_TYPE}"
            )
        form = {
            "client_id": client_id,
            "client_secret": client_secret,
            "username": username,
            "password": password,
            "client_assertion": client_assertion,
            "token_url": f"{public_base(request, platform)}/auth/token",
        }
        basic = _basic_credentials(request)
        needed = ("username", "password") if grant_type == "password" else ("client_id",)
        signed = grant_type == "client_credentials" and bool(client_assertion)
        if basic is None and not signed and not all(form[name] for name in needed):
            return _oauth_error("invalid_request", f"{' and '.join(needed)} required")
        try:
            requester = await run_in_threadpool(_authenticate, platform, grant_type, form, basic)
        except BadAssertion as exc:
            return _oauth_error("invalid_client", str(exc), 401)
        if requester is None:
            if grant_type == "password":
                return _oauth_error("invalid_grant", "wrong user name or password")
            return _oauth_error("invalid_client", "unknown client or wrong secret", 401)
        try:
            if scope.strip():
                granted = requester.scopes.narrowed_to(Scopes.parse(scope))
                requester = Requester(
                    requester.subject, requester.org_id, requester.kind, granted, requester.roles
                )
        except InvalidScope as exc:
            return _oauth_error("invalid_scope", str(exc))
        lifetime = (
            settings.user_token_lifetime_seconds
            if requester.kind == "user"
            else settings.token_lifetime_seconds
        )
        return JSONResponse(
            {
                "access_token": await run_in_threadpool(issue, keys, requester, lifetime),
                "token_type": "Bearer",
                "expires_in": lifetime,
                "scope": str(requester.scopes),
            },
            headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
        )

    # SMART discovery: at the server root and, as SMART App Launch asks, at the FHIR base;
    # public, like the CapabilityStatement.
    @api.get("/.well-known/smart-configuration")
    @api.get("/fhir/.well-known/smart-configuration", include_in_schema=False)
    async def smart_configuration(request: Request) -> JSONResponse:
        base = public_base(request, platform)
        return JSONResponse(
            {
                "issuer": base,
                "jwks_uri": f"{base}/.well-known/jwks.json",
                "token_endpoint": f"{base}/auth/token",
                "grant_types_supported": ["client_credentials", "password"],
                "token_endpoint_auth_methods_supported": [
                    "client_secret_basic",
                    "client_secret_post",
                    "private_key_jwt",
                ],
                "token_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGORITHMS),
                "scopes_supported": ["system/*.cruds", "user/*.cruds"],
                "capabilities": [
                    "client-confidential-symmetric",
                    "client-confidential-asymmetric",
                    "permission-v2",
                ],
            }
        )

    @api.get("/.well-known/jwks.json")
    async def jwks() -> JSONResponse:
        return JSONResponse(await run_in_threadpool(keys.jwks))

    return api


def public_base(request: Request, platform: Platform) -> str:
    """The gateway's address as the client sees it (configured, or from the request)."""
    configured = platform.settings.public_url
    return (configured or str(request.base_url)).rstrip("/")


async def current_requester(request: Request) -> Requester:
    """The requester of a request with a valid bearer token (401 otherwise)."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("bearer token required")
    keys: KeyRing = request.app.state.keys
    try:
        return verify(keys, token.strip())
    except InvalidToken as exc:
        raise Unauthorized(str(exc)) from None


Auth = Annotated[Requester, Depends(current_requester)]
