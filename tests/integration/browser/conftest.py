"""The web app in a real browser: Debian's Chromium driven by Playwright (no browser is
downloaded) against ``yilian serve --demo``.  Screenshots go to ``test-artifacts/webapp/``."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.integration.test_serve import Running, start, wait_until_ready

REPO = Path(__file__).resolve().parents[3]
ARTIFACTS = REPO / "test-artifacts" / "webapp"
AXE = REPO / "gateway" / "webapp" / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1366, "height": 768}
PASSWORD = "Demo@2026"
# Short access tokens, so that a test sees the app refresh one before it expires.
TOKEN_SECONDS = 10


@contextmanager
def demo_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """``yilian serve --demo`` with short access tokens; a pushed study is stable after 2 s
    quiet."""
    if not (REPO / "gateway" / "webapp" / "dist" / "index.html").is_file():
        pytest.fail("the web app is not built: run make install")
    env = {
        "YILIAN_APP_TOKEN_LIFETIME_SECONDS": str(TOKEN_SECONDS),
        "YILIAN_STUDY_STABLE_SECONDS": "2",
    }
    running = start(tmp_path_factory.mktemp("webapp"), env=env)
    try:
        wait_until_ready(running)
        yield running
    finally:
        running.proc.send_signal(signal.SIGTERM)
        running.proc.wait(30)


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """One platform for the page tests that look only at what they made themselves; a module
    whose figures count everything of an organization overrides it with its own."""
    with demo_platform(tmp_path_factory) as running:
        yield running


@pytest.fixture(scope="module")
def base(served: Running) -> str:
    return f"http://127.0.0.1:{served.http}"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Chromium for one module: Playwright's sync API keeps an event loop running in this
    thread while it is open, which later tests' own ``asyncio.run`` must not find."""
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser profile (no cookies, nothing stored) at 1366×768."""
    context = browser.new_context(viewport=VIEWPORT)
    opened = context.new_page()
    yield opened
    context.close()


@pytest.fixture
def watched(browser: Browser) -> Iterator[Page]:
    """A fresh page failing the test on any script error; without the page's CSP, so that
    axe-core can be injected."""
    context = browser.new_context(viewport=VIEWPORT, bypass_csp=True)
    opened = context.new_page()
    problems: list[str] = []
    opened.on("pageerror", lambda error: problems.append(str(error)))
    yield opened
    context.close()
    assert problems == []


def fits_the_width(page: Page) -> None:
    """1366 pixels wide without scrolling sideways."""
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], widths


def serious_violations(page: Page) -> list[dict[str, object]]:
    """What axe-core (injected into the page) finds serious or critical, once the page is
    still: colours measured halfway through a dialog's fade-in are not the page's colours.  A
    message toast (el-message) of the last action is let go first: it fades out after 3 s,
    perhaps while axe runs, and a half-faded toast's colours are not its colours either."""
    page.wait_for_function("document.querySelectorAll('.el-message').length === 0", timeout=15_000)
    settled(page)
    page.add_script_tag(path=str(AXE))
    # The embedded OHIF viewer is OHIF's own page (its accessibility is OHIF's): left out.
    results = page.evaluate(
        "axe.run({exclude: [['[data-test=viewer-frame]']]}, {resultTypes: ['violations']})"
    )
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def settled(page: Page) -> None:
    """Wait until no CSS transition or animation is running (a dialog opening, a message
    sliding in), two frames apart, so that one started by the last finished counts too.
    Endless ones (a loading spinner) are not waited for."""
    page.evaluate(
        """async () => {
            const frame = () => new Promise((done) => requestAnimationFrame(() => done()));
            for (let round = 0; round < 20; round++) {
                await frame();
                await frame();
                const running = document
                    .getAnimations()
                    .filter((a) => a.playState === "running")
                    .filter((a) => a.effect?.getComputedTiming().iterations !== Infinity);
                if (running.length === 0) return;
                await Promise.all(running.map((a) => a.finished.catch(() => null)));
            }
        }"""
    )


def no_serious_violations(page: Page) -> None:
    found = serious_violations(page)
    assert found == [], json.dumps(found, indent=1, ensure_ascii=False)


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def log_in(page: Page, base: str, username: str, password: str = PASSWORD) -> None:
    """Open the app, get sent to the login page, fill it in like a person."""
    page.goto(f"{base}/app/")
    page.wait_for_selector("#username")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")


def logged_in(page: Page, base: str, username: str) -> None:
    log_in(page, base, username)
    page.wait_for_selector("[data-test=user-name]")
    page.wait_for_selector("[data-test=practitioner-name]:not(:empty)")
