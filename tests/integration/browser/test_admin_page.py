"""系统管理 in a real browser against ``yilian serve --demo``: the administrator adds a clinic's AE
title on the page and the DICOM node then accepts DCMTK's echoscu from it (rejected before);
the server's refusal shows in the form as the alliance file check words it; an API client's
secret is shown once with a copy button; the operations tabs; axe, 1366×768, English."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.integration.browser.conftest import (
    VIEWPORT,
    fits_the_width,
    logged_in,
    no_serious_violations,
    screenshot,
)
from tests.integration.test_serve import Running

NODE_AE = "YILIAN"
ECHOSCU = "/usr/bin/echoscu"  # DCMTK's, not the venv's look-alike


def echo_accepted(served: Running, calling: str) -> bool:
    command = [ECHOSCU, "-aet", calling, "-aec", NODE_AE, "127.0.0.1", str(served.dicom)]
    return subprocess.run(command, capture_output=True, timeout=30).returncode == 0


@pytest.fixture
def admin_page(browser: Browser, base: str) -> Iterator[Page]:
    """The administrator on 系统管理; without the page's CSP so that axe-core can be injected;
    any script error fails the test."""
    context = browser.new_context(viewport=VIEWPORT, bypass_csp=True)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    logged_in(page, base, "admin")
    page.click("[data-test=menu-admin]")
    expect(page.locator("main h1")).to_have_text("系统管理")
    yield page
    context.close()
    assert problems == []


def choose(page: Page, field: str, option: str) -> None:
    """Pick ``option`` (its code) in the form's Element Plus select ``field``."""
    page.locator(f".el-dialog [data-test=field-{field}]").click()
    page.locator(f"[data-test=option-{option}]:visible").click()


def fill(page: Page, field: str, text: str) -> None:
    page.fill(f".el-dialog input[data-test=field-{field}]", text)


def open_tab(page: Page, name: str) -> None:
    page.click(f"#tab-{name}")
    expect(page.locator(f"#pane-{name}")).to_be_visible()


def test_an_admin_adds_a_clinics_ae_title_and_echoscu_from_it_is_then_accepted(
    admin_page: Page, served: Running
):
    page = admin_page
    assert not echo_accepted(served, "TX_US2")
    open_tab(page, "ae_titles")
    tab = page.locator("[data-test=registry-ae_titles]")
    expect(tab.locator("[data-key=TX_CT1]")).to_be_visible()
    fits_the_width(page)

    # A title another clinic already has: the server's refusal, the file check's words.
    tab.locator("[data-test=add-entry]").click()
    fill(page, "ae_title", "TX_CT1")
    choose(page, "organization", "blq-wsy")
    choose(page, "kind", "modality")
    no_serious_violations(page)
    page.click("[data-test=save-entry]")
    problems = page.locator("[data-test=form-problems] li")
    expect(problems).to_have_count(1)
    assert problems.inner_text().endswith("(ae_title TX_CT1): field 'ae_title': duplicate")
    expect(page.locator("[data-test=form-refusal]")).to_contain_text("未写入任何内容")
    screenshot(page, "admin-ae-title-refused")

    # Corrected in the same form (nothing typed is lost): 汤溪卫生院's new ultrasound.
    fill(page, "ae_title", "TX_US2")
    choose(page, "organization", "tx-wsy")
    fill(page, "description", "汤溪卫生院 超声")
    page.click("[data-test=save-entry]")
    row = tab.locator("tr:has([data-key=TX_US2])")
    expect(row).to_contain_text("婺城区汤溪镇中心卫生院（tx-wsy）")
    expect(row).to_contain_text("检查设备")
    screenshot(page, "admin-ae-title-added")

    deadline = time.monotonic() + 15
    while not echo_accepted(served, "TX_US2"):
        assert time.monotonic() < deadline, "the node still rejects TX_US2"
        time.sleep(1)


def test_an_api_clients_secret_is_shown_once_with_a_copy_button(admin_page: Page):
    page = admin_page
    open_tab(page, "api_clients")
    page.locator("[data-test=registry-api_clients] [data-test=add-entry]").click()
    fill(page, "client_id", "lis-blq")
    fill(page, "name", "白龙桥卫生院 LIS")
    choose(page, "organization", "blq-wsy")
    fill(page, "scopes", "system/Observation.rs")
    page.click("[data-test=save-entry]")
    secret = page.locator("input[data-test=client-secret]")
    expect(secret).to_be_visible()
    value = secret.input_value()
    assert len(value) >= 32
    expect(page.locator(".el-dialog:has([data-test=client-secret])")).to_contain_text(
        "密钥只显示这一次"
    )
    no_serious_violations(page)
    screenshot(page, "admin-client-secret")
    page.click("[data-test=copy-secret]")
    expect(page.locator(".el-message--success", has_text="已复制到剪贴板")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == value
    page.click("[data-test=secret-saved]")
    expect(secret).to_have_count(0)
    assert value not in page.content()


def test_the_operations_tabs_and_the_english_switch(admin_page: Page):
    page = admin_page
    for name in ("organizations", "centres", "mllp_peers", "users", "hl7", "dead"):
        open_tab(page, name)
        fits_the_width(page)
        no_serious_violations(page)
        screenshot(page, f"admin-{name}")
    expect(page.locator("#pane-users")).to_be_hidden()
    # Who looked at patient "p-none": the search itself is recorded, so it is then found.
    open_tab(page, "audit")
    page.fill("input[data-test=audit-patient]", "p-none")
    page.click("[data-test=audit-run]")
    records = page.locator("[data-test=audit-records] tbody tr")
    expect(records).to_have_count(0)
    page.click("[data-test=audit-run]")
    expect(records).to_have_count(1)
    expect(records.first).to_contain_text("audit-search")
    expect(records.first).to_contain_text("Patient/p-none")
    fits_the_width(page)
    no_serious_violations(page)
    screenshot(page, "admin-audit")
    page.click("[data-test=language]")
    expect(page.locator("#tab-audit")).to_have_text("Access audit")
    expect(page.locator("#tab-ae_titles")).to_have_text("AE titles")
    screenshot(page, "admin-audit-en")
