"""A person uses the web app: logs in through the gateway's login page, sees who they are and
the menu of their roles, switches language, logs out; accessible, and fits 1366×768."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

import httpx
from playwright.sync_api import Browser, Page, Request, Response

from tests.integration.browser.conftest import (
    TOKEN_SECONDS,
    VIEWPORT,
    log_in,
    logged_in,
    screenshot,
    serious_violations,
)


def menu(page: Page) -> list[str]:
    return [
        (item.get_attribute("data-test") or "").removeprefix("menu-")
        for item in page.locator("[data-test^=menu-]").all()
    ]


def token_grants(page: Page) -> list[str]:
    """The grant type of each token request the page makes, as it makes them."""
    grants: list[str] = []

    def seen(request: Request) -> None:
        if request.url.endswith("/auth/token"):
            grants.extend(parse_qs(request.post_data or "").get("grant_type", []))

    page.on("request", seen)
    return grants


def test_a_clinician_logs_in_and_sees_their_name_organization_and_menu(page: Page, base: str):
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    log_in(page, base, "sunli")
    page.wait_for_selector("[data-test=practitioner-name]:not(:empty)")
    assert page.url == f"{base}/app/"  # the callback's code is not left in the address
    assert page.inner_text("[data-test=user-name]") == "孙丽"
    assert page.inner_text("[data-test=organization]") == "婺城区人民医院"
    assert page.locator("[data-test=role]").all_inner_texts() == ["临床医师"]
    assert menu(page) == [
        "home",
        "studies",
        "orders",
        "recognition",
        "booking",
        "specimens",
        "critical",
        "referrals",
        "lab",
    ]
    # Read from the FHIR directory with the person's token.
    assert page.inner_text("[data-test=practitioner-name]") == "孙丽"
    assert page.inner_text("[data-test=practitioner-organization]") == "婺城区人民医院"
    assert page.inner_text("[data-test=practitioner-roles]") == "临床医师"
    stored = page.evaluate("JSON.stringify([{...localStorage}, {...sessionStorage}])")
    assert "token" not in stored.lower()  # tokens live in memory only
    assert problems == []
    screenshot(page, "home-clinician-zh")
    page.click("[data-test=menu-lab]")
    page.wait_for_url(f"{base}/app/lab")
    assert page.inner_text("main h1") == "检验结果"
    screenshot(page, "lab-placeholder-zh")


def test_a_senior_reader_gets_the_reading_menu_and_not_the_clinic_pages(page: Page, base: str):
    logged_in(page, base, "chenjing")
    assert menu(page) == ["home", "worklist", "verify", "studies", "specimens"]
    assert page.locator("[data-test=role]").all_inner_texts() == ["报告医师", "审核医师"]
    # Following a link to a page not in this person's menu leads home instead.
    page.evaluate(
        "history.pushState({}, '', '/app/critical');dispatchEvent(new PopStateEvent('popstate'))"
    )
    page.wait_for_url(f"{base}/app/")
    assert page.inner_text("main h1") == "您好，陈静"


def test_a_wrong_password_shows_a_clear_message_and_gives_no_token(page: Page, base: str):
    grants = token_grants(page)
    log_in(page, base, "sunli", "not-the-password")
    alert = page.wait_for_selector("[role=alert]")
    assert alert.inner_text() == "用户名或密码错误，请重新输入。"
    assert "/auth/authorize" in page.url
    assert "code=" not in page.url
    assert grants == []
    assert page.input_value("#username") == "sunli"
    screenshot(page, "login-wrong-password-zh")


def test_the_language_switch_changes_the_ui_and_is_kept(page: Page, base: str):
    logged_in(page, base, "wangjianguo")
    page.click("[data-test=language]")
    page.wait_for_selector("text=Log out")
    assert page.evaluate("document.documentElement.lang") == "en"
    assert page.locator("[data-test=role]").all_inner_texts() == ["Head"]
    assert page.inner_text("[data-test=menu-lab]") == "Lab results"
    assert page.inner_text("main h1") == "Welcome, 王建国"
    screenshot(page, "home-head-en")
    page.reload()  # a new login (tokens were in memory), in the chosen language
    page.wait_for_selector("#username")
    assert page.inner_text("button[type=submit]") == "Sign in"
    screenshot(page, "login-en")


def test_logout_ends_the_session(page: Page, base: str):
    with page.expect_response(lambda r: r.url.endswith("/auth/token")) as answered:
        log_in(page, base, "zhengwei")
    token: Response = answered.value
    refresh_token = token.json()["refresh_token"]
    page.wait_for_selector("[data-test=practitioner-name]:not(:empty)")
    with page.expect_request(lambda r: r.url.endswith("/auth/logout")):
        page.click("[data-test=logout]")
    page.wait_for_selector("#username")  # back at the login page
    data = {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "client_id": "yilian-web",
    }
    refused = httpx.post(f"{base}/auth/token", data=data)
    assert (refused.status_code, refused.json()["error"]) == (400, "invalid_grant")


def test_the_app_refreshes_its_token_before_it_expires(page: Page, base: str):
    grants = token_grants(page)
    logged_in(page, base, "luping")
    page.wait_for_timeout(TOKEN_SECONDS * 1000)
    assert grants[:2] == ["authorization_code", "refresh_token"]
    page.click("[data-test=menu-home]")
    assert page.inner_text("[data-test=user-name]") == "卢萍"


def test_a_login_ended_elsewhere_asks_for_the_login_again(page: Page, base: str):
    with page.expect_response(lambda r: r.url.endswith("/auth/token")) as answered:
        log_in(page, base, "xugang")
    refresh_token = answered.value.json()["refresh_token"]
    page.wait_for_selector("[data-test=practitioner-name]:not(:empty)")
    data = {"token": refresh_token, "client_id": "yilian-web"}
    assert httpx.post(f"{base}/auth/logout", data=data).status_code == 200
    # The next renewal is refused: the login page comes back, in the app's language.
    page.wait_for_selector("#username", timeout=TOKEN_SECONDS * 2000)
    assert "/auth/authorize" in page.url


def test_no_page_scrolls_sideways_at_1366_by_768(page: Page, base: str):
    logged_in(page, base, "sunli")
    for name in menu(page):
        page.click(f"[data-test=menu-{name}]")
        page.wait_for_selector("main h1")
        widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1], name


def test_axe_finds_no_serious_accessibility_violations(browser: Browser, base: str):
    # Without the page's CSP, so that axe-core can be injected.
    context = browser.new_context(viewport=VIEWPORT, bypass_csp=True)
    page = context.new_page()
    try:
        page.goto(f"{base}/app/")
        page.wait_for_selector("#username")
        found = {"login": serious_violations(page)}
        page.fill("#username", "hejun")
        page.fill("#password", "Demo@2026")
        page.click("button[type=submit]")
        page.wait_for_selector("[data-test=practitioner-name]:not(:empty)")
        found["home"] = serious_violations(page)
        page.click("[data-test=menu-critical]")
        page.wait_for_selector("main h1")
        found["placeholder"] = serious_violations(page)
        assert found == {"login": [], "home": [], "placeholder": []}, json.dumps(found, indent=1)
    finally:
        context.close()
