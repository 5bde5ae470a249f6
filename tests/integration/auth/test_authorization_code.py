"""People log in the way OAuth 2.1 and SMART App Launch have it: authorization code with PKCE
(S256) against the gateway's login page, refresh tokens that rotate, logout that ends it."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx

from tests.integration.auth.conftest import CLIENT_ID, Login, refresh
from tests.integration.dicomweb.conftest import Gateway


def test_a_clinician_logs_in_and_gets_tokens_of_their_role(login: Login):
    form = login.open_form()
    assert form.status_code == 200
    assert "用户名" in form.text
    assert 'lang="zh-CN"' in form.text
    assert form.headers["x-frame-options"] == "DENY"
    tokens = login.exchange(login.code("sunli")).json()
    assert tokens["token_type"] == "Bearer"
    assert tokens["refresh_token"]
    assert tokens["expires_in"] == 600
    assert tokens["scope"] == "openid fhirUser user/*.rs"
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    me = httpx.get(f"{login.gateway.url}/auth/userinfo", headers=bearer).json()
    assert me == {
        "sub": "sunli",
        "name": "孙丽",
        "fhirUser": "Practitioner/sunli",
        "organization": {"id": "wcrm", "name": "婺城区人民医院"},
        "roles": [{"code": "clinician", "display": "临床医师"}],
    }
    practitioner = httpx.get(f"{login.gateway.url}/fhir/Practitioner/sunli", headers=bearer)
    assert practitioner.status_code == 200


def test_without_data_scopes_the_token_carries_the_roles_scopes(login: Login):
    tokens = login.exchange(login.code("zhaomin", scope="openid fhirUser")).json()
    assert tokens["scope"].startswith("openid fhirUser user/")
    assert "user/DiagnosticReport.cru" in tokens["scope"]
    assert "user/ServiceRequest.cruds" not in tokens["scope"]


def test_a_verifier_that_does_not_match_the_challenge_is_invalid_grant(login: Login):
    code = login.code("sunli")
    other = "x" * 43
    answer = login.exchange(code, code_verifier=other)
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_grant")
    # The code is spent by the failed attempt: the right verifier no longer helps.
    assert login.exchange(code).json()["error"] == "invalid_grant"


def test_a_code_is_redeemed_once_and_reuse_revokes_what_it_gave(login: Login):
    code = login.code("wufang")
    first = login.exchange(code)
    assert first.status_code == 200
    again = login.exchange(code)
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")
    assert refresh(login.gateway, first.json()["refresh_token"]).json()["error"] == "invalid_grant"


def test_a_code_is_refused_with_another_redirect_uri_or_client(login: Login):
    code = login.code("sunli")
    elsewhere = login.exchange(code, redirect_uri=f"{login.gateway.url}/app/other")
    assert (elsewhere.status_code, elsewhere.json()["error"]) == (400, "invalid_grant")
    code = login.code("sunli")
    stranger = login.exchange(code, client_id="his-wcrm")
    assert (stranger.status_code, stranger.json()["error"]) == (401, "invalid_client")


def test_refresh_rotates_and_an_old_refresh_token_is_refused(login: Login):
    tokens = login.exchange(login.code("hejun")).json()
    renewed = refresh(login.gateway, tokens["refresh_token"])
    assert renewed.status_code == 200
    assert renewed.headers["cache-control"] == "no-store"
    new = renewed.json()
    assert new["refresh_token"] != tokens["refresh_token"]
    assert new["access_token"]
    old = refresh(login.gateway, tokens["refresh_token"])
    assert (old.status_code, old.json()["error"]) == (400, "invalid_grant")
    # Presenting a used refresh token means it was stolen: the whole login ends.
    assert refresh(login.gateway, new["refresh_token"]).json()["error"] == "invalid_grant"


def test_logout_revokes_the_refresh_token(login: Login):
    tokens = login.exchange(login.code("fengxia")).json()
    url = f"{login.gateway.url}/auth/logout"
    data = {"token": tokens["refresh_token"], "client_id": CLIENT_ID}
    assert httpx.post(url, data=data).status_code == 200
    assert refresh(login.gateway, tokens["refresh_token"]).json()["error"] == "invalid_grant"


def test_a_bad_redirect_uri_or_client_is_shown_not_redirected(login: Login):
    stranger = login.open_form(redirect_uri="https://evil.example/callback")
    assert stranger.status_code == 400
    assert "location" not in stranger.headers
    assert "redirect_uri" in stranger.text
    unknown = login.open_form(client_id="nobody")
    assert unknown.status_code == 400
    assert "location" not in unknown.headers


def test_request_errors_go_back_to_the_app_with_the_state(login: Login):
    for changes, error in [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge": ""}, "invalid_request"),
        ({"scope": "user/Nothing.nope"}, "invalid_scope"),
        ({"aud": "https://elsewhere.example/fhir"}, "invalid_request"),
    ]:
        answer = login.open_form(**changes)
        assert answer.status_code == 303, changes
        location = answer.headers["location"]
        assert location.startswith(login.redirect_uri)
        query = parse_qs(urlsplit(location).query)
        assert (query["error"], query["state"]) == ([error], [login.state]), changes
        assert "code" not in query


def test_a_wrong_password_shows_a_message_and_gives_no_code(login: Login):
    answer = login.submit(login.open_form(), "sunli", "wrong-password")
    assert answer.status_code == 200
    assert "location" not in answer.headers
    assert "用户名或密码错误" in answer.text
    english = login.submit(login.open_form(ui_locales="en"), "sunli", "wrong-password")
    assert "Wrong user name or password" in english.text


def test_repeated_failures_make_the_next_attempt_wait(login: Login):
    form = login.open_form()
    for _ in range(4):
        login.submit(form, "liuyang", "guess")
    blocked = login.submit(form, "liuyang")  # even the right password waits
    assert blocked.status_code == 429
    assert "秒后再试" in blocked.text
    assert "location" not in blocked.headers
    token_url = f"{login.gateway.url}/auth/token"
    data = {"grant_type": "password", "username": "liuyang", "password": "Demo@2026"}
    assert httpx.post(token_url, data=data).json()["error"] == "invalid_grant"


def test_the_form_is_bound_to_its_request_and_browser(login: Login, gateway: Gateway):
    form = login.open_form()
    with httpx.Client(follow_redirects=False) as other_browser:  # no cookie of the form
        ticket = form.text.split('name="request" value="')[1].split('"')[0]
        data = {"request": ticket, "username": "sunli", "password": "Demo@2026"}
        forged = other_browser.post(f"{gateway.url}/auth/authorize", data=data)
    assert forged.status_code == 400
    assert "location" not in forged.headers
    tampered = login.browser.post(
        f"{gateway.url}/auth/authorize",
        data={"request": ticket[:-4] + "AAAA", "username": "sunli", "password": "Demo@2026"},
    )
    assert tampered.status_code == 400


def test_smart_configuration_offers_the_code_flow(gateway: Gateway):
    found = httpx.get(f"{gateway.url}/fhir/.well-known/smart-configuration").json()
    assert found["authorization_endpoint"] == f"{gateway.url}/auth/authorize"
    assert found["code_challenge_methods_supported"] == ["S256"]
    assert {"authorization_code", "refresh_token"} <= set(found["grant_types_supported"])
    assert found["revocation_endpoint"] == f"{gateway.url}/auth/logout"
