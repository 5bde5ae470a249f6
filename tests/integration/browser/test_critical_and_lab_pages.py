"""The critical-value inbox (危急值) and the lab results page (检验结果), in a real browser
against ``yilian serve --demo``: the lead hospital's LIS sends 汤溪卫生院's results over MLLP,
a critical potassium among them; clinician 蒋华 finds it in the clinic's inbox read out, is
refused a wrong read-back with the server's reason, acknowledges with the right one and reads
the chain; 徐刚 of another clinic sees nothing of it; the lab results page shows the flags
(偏高/偏低/危急) and the corrected sodium as corrected, with what it said before."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.integration.browser.conftest import (
    VIEWPORT,
    demo_platform,
    fits_the_width,
    logged_in,
    no_serious_violations,
    screenshot,
)
from tests.integration.browser.lab_setup import LabOrder, lab_results
from tests.integration.test_serve import Running


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """A platform of this module's own: the clinic's inbox holds only its critical value."""
    with demo_platform(tmp_path_factory) as running:
        yield running


@pytest.fixture(scope="module")
def lab(served: Running, base: str) -> LabOrder:
    return lab_results(served, base)


def alert_rows(page: Page):
    return page.locator("[data-test=alerts] tbody tr:has([data-alert])")


def test_another_clinics_clinician_does_not_see_the_alert(watched: Page, base: str, lab):
    logged_in(watched, base, "jianghua")  # the alert is there for the ordering clinic …
    watched.click("[data-test=menu-critical]")
    expect(alert_rows(watched)).to_have_count(1)
    other = watched.context.browser.new_context(viewport=VIEWPORT)  # … and not for 傅村卫生院
    try:
        page = other.new_page()
        logged_in(page, base, "xugang")
        with page.expect_response(lambda r: "$critical-inbox" in r.url) as answered:
            page.click("[data-test=menu-critical]")
        assert answered.value.ok
        assert answered.value.json() == {"alerts": []}
        expect(page.locator("[data-test=alerts]")).to_contain_text("暂无危急值")
        expect(alert_rows(page)).to_have_count(0)
    finally:
        other.close()


def test_the_clinic_acknowledges_the_critical_value_with_read_back(watched: Page, base: str, lab):
    page = watched
    logged_in(page, base, "jianghua")
    page.click("[data-test=menu-critical]")
    row = alert_rows(page)
    expect(row).to_have_count(1)
    expect(row.locator("[data-test=alert-item]")).to_have_text("钾")
    expect(row.locator("[data-test=alert-number]")).to_have_text("6.8 mmol/L")
    expect(row.locator("[data-test=flag]")).to_have_text("危急高")
    expect(row.locator("[data-test=alert-patient]")).to_have_text("张三丰 男 46岁")
    expect(row.locator("[data-test=alert-patient-id] [data-test=identity-value]")).to_have_text(
        "330702********1232"
    )
    expect(row.locator("[data-test=alert-source]")).to_contain_text("金华市中心医院")
    expect(row.locator("[data-test=alert-level]")).to_have_text("待本机构确认")
    expect(row.locator("[data-test=alert-elapsed]")).to_have_text(re.compile(r"^\d+分$"))
    fits_the_width(page)
    screenshot(page, "critical-inbox-zh")
    no_serious_violations(page)

    row.locator("[data-test=acknowledge]").click()
    dialog = page.locator("[data-test=acknowledge-dialog]")
    expect(dialog).to_contain_text("钾 6.8 mmol/L（危急高值，参考 3.5-5.3）")
    page.fill("#read-back", "钾 8.6")
    with page.expect_response(lambda r: r.url.endswith("/$acknowledge")) as answered:
        page.click("[data-test=submit-read-back]")
    assert answered.value.status == 422
    reason = answered.value.json()["issue"][0]["diagnostics"]
    assert "数值" in reason
    expect(dialog.locator("[data-test=read-back-refused]")).to_contain_text(reason)
    page.wait_for_timeout(300)  # the dialog's fade-in, for the screenshot
    screenshot(page, "critical-read-back-refused-zh")
    no_serious_violations(page)

    page.fill("#read-back", "钾 6.8 mmol/L，危急高值")
    with page.expect_response(lambda r: r.url.endswith("/$acknowledge")) as answered:
        page.click("[data-test=submit-read-back]")
    assert answered.value.status == 200
    expect(page.locator(".el-message--success")).to_have_text("危急值已确认")
    expect(alert_rows(page)).to_have_count(0)

    page.locator("[data-test=critical-tabs] .el-tabs__item", has_text="已确认").click()
    expect(alert_rows(page)).to_have_count(1)
    done = alert_rows(page)
    read_back = done.locator("[data-test=alert-read-back]")
    expect(read_back).to_have_text("复述：钾 6.8 mmol/L，危急高值")
    expect(done).to_contain_text("蒋华")
    done.locator("[data-test=open-chain]").click()
    steps = page.locator("[data-test=chain-step]")
    expect(steps).to_have_count(2)
    expect(steps.nth(0)).to_contain_text("发出并通知 婺城区汤溪镇中心卫生院")
    expect(steps.nth(1)).to_contain_text("婺城区汤溪镇中心卫生院 确认")
    expect(steps.nth(1)).to_contain_text("操作人：蒋华")
    expect(steps.nth(1)).to_contain_text("钾 6.8 mmol/L，危急高值")
    page.wait_for_timeout(300)
    screenshot(page, "critical-chain-zh")
    no_serious_violations(page)

    page.keyboard.press("Escape")
    page.click("[data-test=language]")
    expect(page.locator("main h1")).to_have_text("Critical values")
    expect(read_back).to_have_text("Read-back: 钾 6.8 mmol/L，危急高值")
    done.locator("[data-test=open-chain]").click()
    expect(steps.nth(0)).to_contain_text("Raised and sent to 婺城区汤溪镇中心卫生院")
    page.wait_for_timeout(300)
    screenshot(page, "critical-chain-en")


def test_the_lab_results_page_shows_flags_and_the_correction(watched: Page, base: str, lab):
    page = watched
    logged_in(page, base, "jianghua")
    page.click("[data-test=menu-lab]")
    row = page.locator(f"[data-test=lab-orders] tbody tr:has([data-order='{lab.order}'])")
    expect(row).to_contain_text("张三丰 男 46岁")
    expect(row).to_contain_text("基础代谢组合")
    expect(row.locator("[data-test=stage]")).to_have_text("已报告")
    fits_the_width(page)
    screenshot(page, "lab-orders-zh")
    no_serious_violations(page)

    row.locator("[data-test=view-results]").click()
    drawer = page.locator("[data-test=order-results]")
    expect(drawer.locator("[data-test=milestones]")).to_contain_text("已报告")
    expect(drawer.locator("[data-test=report-group]")).to_have_count(1)
    expect(drawer.locator("[data-test=report-status]")).to_have_text("已更正")

    def result(name: str):
        return drawer.locator("[data-test=results] tbody tr", has_text=name)

    expect(result("钾").locator("[data-test=flag]")).to_have_text("危急高")
    expect(result("钾")).to_contain_text("mmol/L")
    expect(result("钾")).to_contain_text("3.5-5.3")
    expect(result("葡萄糖").locator("[data-test=flag]")).to_have_text("偏高")
    expect(result("钙").locator("[data-test=flag]")).to_have_text("偏低")
    expect(result("钠").locator("[data-test=result-value]")).to_have_text("132")
    expect(result("钠").locator("[data-test=corrected]")).to_contain_text("已更正")
    expect(result("钠").locator("[data-test=previous-value]")).to_have_text("原结果：140 mmol/L")
    expect(result("钠").locator("[data-test=flag]")).to_have_text("偏低")
    page.wait_for_timeout(400)  # the drawer's slide-in, for the screenshot
    fits_the_width(page)
    screenshot(page, "lab-results-zh")
    no_serious_violations(page)

    page.keyboard.press("Escape")
    page.click("[data-test=language]")
    expect(page.locator("main h1")).to_have_text("Lab results")
    row.locator("[data-test=view-results]").click()
    expect(result("钾").locator("[data-test=flag]")).to_have_text("Critical high")
    expect(result("钠").locator("[data-test=corrected]")).to_contain_text("Corrected")
    page.wait_for_timeout(400)
    screenshot(page, "lab-results-en")
