"""A gateway over the demo alliance for the login tests, and a browser's part of the OAuth
authorization-code flow with PKCE, played with httpx (the login form filled like a person)."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.integration.dicomweb.conftest import PASSWORD, Gateway, start_gateway

CLIENT_ID = "yilian-web"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, demo_sqlite: Path) -> Iterator[Gateway]:
    with start_gateway(tmp_path_factory.mktemp("auth"), demo_sqlite) as running:
        yield running


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass
class Login:
    """One authorization request, as the app makes it."""

    gateway: Gateway
    verifier: str
    challenge: str
    state: str
    browser: httpx.Client

    @property
    def redirect_uri(self) -> str:
        return f"{self.gateway.url}/app/callback"

    def authorize_params(self, **changes: str) -> dict[str, str]:
        params = {
            "response_type": "code",
            "client_id": CLIENT_ID,
            "redirect_uri": self.redirect_uri,
            "scope": "openid fhirUser user/*.rs",
            "state": self.state,
            "code_challenge": self.challenge,
            "code_challenge_method": "S256",
            "aud": f"{self.gateway.url}/fhir",
        }
        return {k: v for k, v in {**params, **changes}.items() if v is not None}

    def open_form(self, **changes: str) -> httpx.Response:
        return self.browser.get(
            f"{self.gateway.url}/auth/authorize", params=self.authorize_params(**changes)
        )

    def submit(
        self, form: httpx.Response, username: str, password: str = PASSWORD
    ) -> httpx.Response:
        ticket = re.search(r'name="request" value="([^"]+)"', form.text)
        assert ticket is not None, form.text
        data = {"request": ticket.group(1), "username": username, "password": password}
        return self.browser.post(f"{self.gateway.url}/auth/authorize", data=data)

    def code(self, username: str, **changes: str) -> str:
        answer = self.submit(self.open_form(**changes), username)
        assert answer.status_code == 303, answer.text
        query = parse_qs(urlsplit(answer.headers["location"]).query)
        assert query["state"] == [self.state]
        return query["code"][0]

    def exchange(self, code: str, **changes: str) -> httpx.Response:
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "client_id": CLIENT_ID,
            "code_verifier": self.verifier,
            **changes,
        }
        return httpx.post(f"{self.gateway.url}/auth/token", data=data)


@pytest.fixture
def login(gateway: Gateway) -> Iterator[Login]:
    verifier, challenge = pkce_pair()
    with httpx.Client(follow_redirects=False, timeout=30) as browser:
        yield Login(gateway, verifier, challenge, secrets.token_urlsafe(12), browser)


def refresh(gateway: Gateway, token: str) -> httpx.Response:
    data = {"grant_type": "refresh_token", "refresh_token": token, "client_id": CLIENT_ID}
    return httpx.post(f"{gateway.url}/auth/token", data=data)
