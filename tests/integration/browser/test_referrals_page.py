"""The referral page (双向转诊), in a real browser against ``yilian serve --demo``: 汤溪卫生院's
doctor 蒋华 refers 张三丰 up to 金华市中心医院 as urgent with the blood count report the lead
hospital's lab wrote for the clinic's order — in the clinic's outbox 待接收 on the green
channel; 李华 at the lead hospital finds it in the inbox, cannot decline without a reason,
accepts, records the arrival and completes it with the discharge summary; the clinic sees
every step's time and the summary; 傅村卫生院's doctor sees none of it."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.integration.browser.conftest import (
    VIEWPORT,
    fits_the_width,
    logged_in,
    no_serious_violations,
    screenshot,
)
from tests.integration.browser.reading_setup import CATEGORY, fhir
from tests.integration.test_serve import Running

ID_NUMBER = "330702198001011238"
MINUTE = re.compile(r"20\d\d-\d\d-\d\d \d\d:\d\d")


def token(base: str, client: str) -> str:
    auth = (client, f"demo-secret-{client.removeprefix('his-')}")
    answer = httpx.post(f"{base}/auth/token", data={"grant_type": "client_credentials"}, auth=auth)
    answer.raise_for_status()
    return str(answer.json()["access_token"])


@pytest.fixture(scope="module")
def report(served: Running, base: str) -> str:
    """张三丰 of 汤溪卫生院, and the report the lead hospital's lab wrote for the clinic's order:
    its title."""
    clinic, lead = token(base, "his-tx-wsy"), token(base, "his-jhzx")
    patient = fhir(base, clinic, "POST", "Patient", {
        "resourceType": "Patient",
        "identifier": [{"system": "urn:oid:2.16.156.10011.1.3", "value": ID_NUMBER}],
        "name": [{"text": "张三丰"}], "gender": "male", "birthDate": "1980-01-01",
    })["id"]  # fmt: skip
    order = fhir(base, clinic, "POST", "ServiceRequest", {
        "resourceType": "ServiceRequest", "status": "active", "intent": "order",
        "category": [{"coding": [{"system": CATEGORY, "code": "lab"}]}],
        "code": {"text": "血常规"}, "subject": {"reference": f"Patient/{patient}"},
        "requester": {"reference": "Organization/tx-wsy"},
        "performer": [{"reference": "Organization/jhzx"}],
        "authoredOn": "2026-12-02T08:00:00+08:00",
    })["id"]  # fmt: skip
    fhir(base, lead, "POST", "DiagnosticReport", {
        "resourceType": "DiagnosticReport", "status": "final", "code": {"text": "血常规报告"},
        "basedOn": [{"reference": f"ServiceRequest/{order}"}],
        "subject": {"reference": f"Patient/{patient}"},
        "effectiveDateTime": "2026-12-02T08:30:00+08:00", "conclusion": "白细胞升高",
    })  # fmt: skip
    return "血常规报告"


def rows(page: Page):
    return page.locator("[data-test=referrals] tbody tr:has([data-referral])")


def test_a_referral_up_from_the_clinic_is_taken_through_by_the_lead_hospital(
    watched: Page, browser: Browser, base: str, report: str
):
    page = watched
    logged_in(page, base, "jianghua")
    page.click("[data-test=menu-referrals]")
    expect(page.locator("main h1")).to_have_text("双向转诊")
    page.click("[data-test=new-referral]")
    dialog = page.locator("[data-test=refer-dialog]")
    page.fill("#refer-query", ID_NUMBER)
    page.click("[data-test=refer-search]")
    expect(dialog.locator("[data-test=refer-patients]")).to_contain_text("330702********1238")
    page.click("#refer-receiver")
    page.locator(".el-select-dropdown__item", has_text="金华市中心医院").click()
    page.fill("#refer-department", "呼吸内科")
    page.click("[data-test=refer-urgent]")
    page.fill("#refer-reason", "重症肺炎，需上级医院进一步治疗")
    dialog.locator("[data-test=refer-reports] .el-checkbox", has_text=report).click()
    page.wait_for_timeout(300)  # the dialog's fade-in, for the screenshot
    screenshot(page, "referral-new-zh")
    no_serious_violations(page)
    with page.expect_response(lambda r: r.url.endswith("/fhir/ServiceRequest")) as answered:
        page.click("[data-test=refer-submit]")
    assert answered.value.status == 201, answered.value.text()

    sent = rows(page)  # the outbox, now shown
    expect(sent).to_have_count(1)
    expect(sent.locator("[data-test=referral-state]")).to_have_text("待接收")
    expect(sent.locator("[data-test=green-channel]")).to_have_text("绿色通道")
    expect(sent.locator("[data-test=referral-party]")).to_have_text("金华市中心医院")
    expect(sent.locator("[data-test=referral-patient-id] [data-test=identity-value]")).to_have_text(
        "330702********1238"
    )
    expect(sent.locator("[data-test=referral-documents]")).to_contain_text(report)
    expect(sent.locator("[data-test=referral-due]")).to_have_text(re.compile(r"应于 .* 前接收"))
    expect(sent.locator("[data-test=action-cancel]")).to_be_visible()
    fits_the_width(page)
    screenshot(page, "referrals-outbox-zh")
    no_serious_violations(page)

    lead = browser.new_context(viewport=VIEWPORT, bypass_csp=True)
    try:
        inbox = lead.new_page()
        logged_in(inbox, base, "lihua")
        inbox.click("[data-test=menu-referrals]")
        received = rows(inbox)
        expect(received).to_have_count(1)
        expect(inbox.locator("[data-test=new-referral]")).to_have_count(0)  # a head refers none
        expect(received.locator("[data-test=referral-party]")).to_have_text(
            "婺城区汤溪镇中心卫生院"
        )
        expect(received.locator("[data-test=referral-reason]")).to_have_text(
            "重症肺炎，需上级医院进一步治疗"
        )
        received.locator("[data-test=action-decline]").click()
        expect(inbox.locator("[data-test=submit-step]")).to_be_disabled()  # a reason first
        inbox.keyboard.press("Escape")
        received.locator("[data-test=action-accept]").click()
        inbox.fill("#step-text", "请直接至呼吸内科病房")
        with inbox.expect_response(lambda r: r.url.endswith("/$accept")) as answered:
            inbox.click("[data-test=submit-step]")
        assert answered.value.status == 200
        expect(received.locator("[data-test=referral-state]")).to_have_text("已接收")
        with inbox.expect_response(lambda r: r.url.endswith("/$arrive")) as answered:
            received.locator("[data-test=action-arrive]").click()
        assert answered.value.status == 200
        expect(received.locator("[data-test=referral-state]")).to_have_text("患者已到院")
        received.locator("[data-test=action-complete]").click()
        inbox.fill("#step-text", "抗感染治疗10天，好转出院，建议社区随访。")
        with inbox.expect_response(lambda r: r.url.endswith("/$complete")) as answered:
            inbox.click("[data-test=submit-step]")
        assert answered.value.status == 200
        expect(received.locator("[data-test=referral-state]")).to_have_text("已完成")
        expect(received.locator("[data-test=referral-summary]")).to_contain_text("出院小结")
        expect(inbox.locator("[data-test=step-dialog]")).to_be_hidden()
        inbox.wait_for_timeout(300)  # the dialog's fade-out, for the screenshot
        fits_the_width(inbox)
        screenshot(inbox, "referrals-inbox-zh")
        no_serious_violations(inbox)
    finally:
        lead.close()

    page.click("[data-test=refresh]")
    expect(sent.locator("[data-test=referral-state]")).to_have_text("已完成")
    steps = sent.locator("[data-test=referral-steps] li")
    expect(steps).to_have_count(4)
    for index, name in enumerate(("转出", "接收", "到院", "完成")):
        expect(steps.nth(index)).to_contain_text(name)
        expect(steps.nth(index)).to_contain_text(MINUTE)
    expect(sent.locator("[data-test=referral-summary]")).to_contain_text("出院小结")
    expect(sent.locator("[data-test=action-cancel]")).to_have_count(0)
    page.click("[data-test=language]")
    expect(page.locator("main h1")).to_have_text("Referrals")
    expect(sent.locator("[data-test=referral-state]")).to_have_text("Completed")
    screenshot(page, "referrals-outbox-en")

    other = browser.new_context(viewport=VIEWPORT)
    try:
        stranger = other.new_page()
        logged_in(stranger, base, "xugang")  # 傅村卫生院
        with stranger.expect_response(lambda r: "$referrals" in r.url) as answered:
            stranger.click("[data-test=menu-referrals]")
        assert answered.value.json() == {"referrals": []}
        expect(stranger.locator("[data-test=referrals]")).to_contain_text("暂无转诊")
    finally:
        other.close()
