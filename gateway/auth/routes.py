"""OAuth2 token endpoint (RFC 6749), SMART configuration and the JWKS, plus the dependency that
turns a request's bearer token into the :class:`Requester` it acts for."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from gateway.auth import grants, people
from gateway.auth.assertions import ASSERTION_TYPE, BadAssertion, verify_assertion
from gateway.auth.grants import authenticate_person, oauth_error
from gateway.auth.scopes import InvalidScope, Scopes
from gateway.auth.tokens import InvalidToken, KeyRing, Requester, issue, verify
from gateway.errors import Forbidden, Unauthorized
from storage.db import transaction
from storage.models import Role
from storage.platform import Platform
from storage.registry import authenticate_client, find_user
from storage.registry.assertions import ASSERTION_ALGORITHMS


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return client_id, secret


def _authenticate(
    platform: Platform, grant_type: str, form: dict[str, str], basic: tuple[str, str] | None
) -> Requester | float | None:
    if grant_type == "password":
        return authenticate_person(platform, form["username"], form["password"], form["address"])
    with transaction(platform.sessions) as session:
        if form["client_assertion"]:
            client = verify_assertion(session, form["client_assertion"], form["token_url"])
        else:
            client_id, secret = basic or (form["client_id"], form["client_secret"])
            client = authenticate_client(session, client_id, secret)
        if client is None:
            return None
        return Requester(client.client_id, client.org_id, "client", Scopes.parse(client.scopes))


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
        code: Annotated[str, Form()] = "",
        redirect_uri: Annotated[str, Form()] = "",
        code_verifier: Annotated[str, Form()] = "",
        refresh_token: Annotated[str, Form()] = "",
    ) -> JSONResponse:
        """``authorization_code`` (with PKCE) and ``refresh_token`` for people who logged in
        at ``/auth/authorize`` through an app; ``client_credentials`` for systems (a secret by
        HTTP Basic or in the form, or a JWT signed with the client's private key: SMART
        Backend Services); ``password`` for scripts and tests acting as a person."""
        if grant_type == "authorization_code":
            fields = {"code": code, "redirect_uri": redirect_uri, "client_id": client_id}
            return await grants.authorization_code(
                platform, keys, {**fields, "code_verifier": code_verifier}
            )
        if grant_type == "refresh_token":
            fields = {"refresh_token": refresh_token, "client_id": client_id}
            return await grants.refresh(platform, keys, fields)
        if grant_type not in ("client_credentials", "password"):
            return oauth_error("unsupported_grant_type", f"grant_type {grant_type!r}")
        if client_assertion and client_assertion_type != ASSERTION_TYPE:
            return oauth_error("invalid_request", f"client_assertion_type must be {ASSERTION_TYPE}")
        form = {
            "client_id": client_id,
            "client_secret": client_secret,
            "username": username,
            "password": password,
            "client_assertion": client_assertion,
            "token_url": f"{public_base(request, platform)}/auth/token",
            "address": request.client.host if request.client else "unknown",
        }
        basic = _basic_credentials(request)
        needed = ("username", "password") if grant_type == "password" else ("client_id",)
        signed = grant_type == "client_credentials" and bool(client_assertion)
        if basic is None and not signed and not all(form[name] for name in needed):
            return oauth_error("invalid_request", f"{' and '.join(needed)} required")
        try:
            requester = await run_in_threadpool(_authenticate, platform, grant_type, form, basic)
        except BadAssertion as exc:
            return oauth_error("invalid_client", str(exc), 401)
        if isinstance(requester, float):
            return oauth_error(
                "invalid_grant", f"too many failed logins: try again in {int(requester) + 1} s"
            )
        if requester is None:
            if grant_type == "password":
                return oauth_error("invalid_grant", "wrong user name or password")
            return oauth_error("invalid_client", "unknown client or wrong secret", 401)
        try:
            if scope.strip():
                granted = requester.scopes.narrowed_to(Scopes.parse(scope))
                requester = Requester(
                    requester.subject, requester.org_id, requester.kind, granted, requester.roles
                )
        except InvalidScope as exc:
            return oauth_error("invalid_scope", str(exc))
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
            headers=grants.NO_STORE,
        )

    @api.post("/auth/logout")
    async def logout(
        token: Annotated[str, Form()] = "",
        client_id: Annotated[str, Form()] = "",
        token_type_hint: Annotated[str, Form()] = "",
    ) -> Response:
        """End a person's login: its refresh tokens are revoked (RFC 7009; the short-lived
        access token expires on its own)."""
        if not token or not client_id:
            return oauth_error("invalid_request", "token and client_id required")
        if token_type_hint not in ("", "refresh_token"):
            return oauth_error("unsupported_token_type", "only refresh tokens are revoked")
        await grants.log_out(platform, token, client_id)
        return Response(status_code=200, headers=grants.NO_STORE)

    @api.get("/auth/userinfo")
    async def userinfo(requester: Auth) -> JSONResponse:
        """Who the bearer token's person is: name, organization and roles (OpenID Connect
        userinfo claims, with ``fhirUser`` naming their ``Practitioner``)."""
        if requester.kind != "user":
            raise Forbidden("userinfo is for people's tokens")
        found = await run_in_threadpool(_person, platform, requester.subject)
        if found is None:
            raise Unauthorized("the user no longer exists")
        return JSONResponse(found, headers=grants.NO_STORE)

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
                "authorization_endpoint": f"{base}/auth/authorize",
                "token_endpoint": f"{base}/auth/token",
                "revocation_endpoint": f"{base}/auth/logout",
                "userinfo_endpoint": f"{base}/auth/userinfo",
                "grant_types_supported": [
                    "authorization_code",
                    "refresh_token",
                    "client_credentials",
                    "password",
                ],
                "response_types_supported": ["code"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": [
                    "none",
                    "client_secret_basic",
                    "client_secret_post",
                    "private_key_jwt",
                ],
                "token_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGORITHMS),
                "scopes_supported": [
                    "system/*.cruds",
                    "user/*.cruds",
                    *sorted(people.IDENTITY_SCOPES),
                ],
                "capabilities": [
                    "launch-standalone",
                    "client-public",
                    "client-confidential-symmetric",
                    "client-confidential-asymmetric",
                    "permission-user",
                    "permission-v2",
                ],
            }
        )

    @api.get("/.well-known/jwks.json")
    async def jwks() -> JSONResponse:
        return JSONResponse(await run_in_threadpool(keys.jwks))

    return api


def _person(platform: Platform, username: str) -> dict[str, Any] | None:
    with transaction(platform.sessions) as session:
        user = find_user(session, username)
        if user is None:
            return None
        return {
            "sub": user.username,
            "name": user.display_name,
            "fhirUser": f"Practitioner/{user.username}",
            "organization": {"id": user.org_id, "name": user.organization.name},
            "roles": [{"code": r.role, "display": Role(r.role).label_zh} for r in user.roles],
        }


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
