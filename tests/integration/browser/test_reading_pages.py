"""Remote reading in the web app, in a real browser against ``yilian serve --demo``: a clinic's
head CT is 待阅片; reader 王磊 claims it from the worklist, writes findings and impression and
submits; senior reader 赵敏 signs it off from the review queue; clinician 蒋华 of the clinic
sees it 已发布 and opens the report.  Another reader cannot claim what 王磊 holds: the server's
message is shown.  The signed reading is then on the month's statement (结算) of both heads: the
lead hospital's 李华 reads it and downloads its CSV; the clinic's 王建国 sees the same pair."""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.integration.browser.conftest import (
    VIEWPORT,
    demo_platform,
    fits_the_width,
    logged_in,
    no_serious_violations,
    screenshot,
)
from tests.integration.browser.reading_setup import (
    claim_from_worklist,
    fhir,
    his_token,
    ready_task,
    row_of,
)
from tests.integration.test_serve import Running

FINDINGS = "脑实质内未见异常密度影，脑室系统未见扩大。"
IMPRESSION = "头颅CT平扫未见明显异常。"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """A platform of this module's own: the month's statement counts only its readings."""
    with demo_platform(tmp_path_factory) as running:
        yield running


@pytest.fixture(scope="module")
def task(served: Running, base: str, tmp_path_factory: pytest.TempPathFactory) -> dict:
    return ready_task(served, base, tmp_path_factory.mktemp("ct"))


def test_another_reader_cannot_claim_what_one_holds(browser: Browser, base: str, task: dict):
    """Both see it 待阅片; 王磊 claims first; 刘洋's claim is refused with the server's words.
    (First in the module: the tests below go on with the same Task.)"""
    contexts = [browser.new_context(viewport=VIEWPORT) for _ in range(2)]
    try:
        wang, liu = (context.new_page() for context in contexts)
        for page, who in ((wang, "wanglei"), (liu, "liuyang")):
            logged_in(page, base, who)
            page.click("[data-test=menu-worklist]")
            expect(row_of(page, task).locator("[data-test=claim]")).to_be_visible()
        row_of(wang, task).locator("[data-test=claim]").click()
        wang.wait_for_url(f"{base}/app/reading/{task['id']}")
        with liu.expect_response(lambda r: r.url.endswith("/$claim")) as answered:
            row_of(liu, task).locator("[data-test=claim]").click()
        assert answered.value.status == 409
        message = answered.value.json()["issue"][0]["diagnostics"]
        expect(liu.locator(".el-message--error")).to_have_text(message)
        screenshot(liu, "worklist-claim-refused-zh")
        # 王磊 gives it back for the next test to claim.
        wang.click("[data-test=menu-worklist]")
        row_of(wang, task).locator("[data-test=release]").click()
        expect(row_of(wang, task).locator("[data-test=state]")).to_have_text("待阅片")
    finally:
        for context in contexts:
            context.close()


def test_the_worklist_has_no_serious_accessibility_violations(
    browser: Browser, base: str, task: dict
):
    """With the Task in it (待阅片 again after the test above)."""
    context = browser.new_context(viewport=VIEWPORT, bypass_csp=True)
    page = context.new_page()
    try:
        logged_in(page, base, "chenjing")
        page.click("[data-test=menu-worklist]")
        expect(row_of(page, task).locator("[data-test=claim]")).to_be_visible()
        no_serious_violations(page)
    finally:
        context.close()


def test_a_task_one_may_not_see_says_so(watched: Page, base: str):
    logged_in(watched, base, "liuyang")
    watched.evaluate(
        "history.pushState({}, '', '/app/reading/no-such-task');"
        "dispatchEvent(new PopStateEvent('popstate'))"
    )
    expect(watched.locator("main [role=alert]")).to_contain_text("找不到该任务，或您无权查看")


def test_a_reader_claims_writes_and_submits(watched: Page, base: str, task: dict):
    page = watched
    logged_in(page, base, "wanglei")
    page.click("[data-test=menu-worklist]")
    row = row_of(page, task)
    expect(row.locator("[data-test=state]")).to_have_text("待阅片")
    text = row.inner_text()
    for expected in ("急", "汤溪", "张三丰 男 46岁", "头颅CT平扫", "待阅片"):
        assert expected in text, (expected, text)
    screenshot(page, "worklist-reader-zh")
    row.locator("[data-test=claim]").click()
    page.wait_for_url(f"{base}/app/reading/{task['id']}")
    expect(page.locator("[data-test=summary-patient]")).to_have_text("张三丰 男 46岁")
    expect(page.locator("[data-test=thumbnail]")).to_have_count(2)
    expect(page.locator(".priors, [data-test=priors]")).to_have_count(0)  # a first report
    # The study in the OHIF viewer beside the editor, with the reader's login.
    frame = page.locator("[data-test=viewer-frame]")
    expect(frame).to_have_attribute("src", re.compile(r"^/viewer/viewer\?StudyInstanceUIDs="))
    viewer = page.frame_locator("[data-test=viewer-frame]")
    expect(viewer.locator("canvas.cornerstone-canvas").first).to_be_visible(timeout=90_000)
    expect(viewer.locator("#yilian-viewer-message")).to_have_count(0)
    page.locator("[data-test=template]").click()
    page.locator(".el-select-dropdown__item", has_text="头颅CT平扫（未见异常）").click()
    expect(page.locator("#impression")).to_have_value(IMPRESSION)  # the template's
    page.fill("#findings", FINDINGS)
    page.fill("#impression", IMPRESSION)
    screenshot(page, "reading-editor-zh")
    no_serious_violations(page)
    page.click("[data-test=submit]")
    page.wait_for_url(f"{base}/app/worklist")
    expect(row_of(page, task).locator("[data-test=state]")).to_have_text("待审核")


def test_a_senior_reader_signs_it_off(watched: Page, base: str, task: dict):
    page = watched
    logged_in(page, base, "zhaomin")
    page.click("[data-test=menu-verify]")
    row = row_of(page, task)
    expect(row).to_have_count(1)
    row.locator("[data-test=open]").click()
    expect(page.locator("[data-test=review-findings]")).to_have_text(FINDINGS)
    expect(page.locator("[data-test=review-impression]")).to_have_text(IMPRESSION)
    expect(page.locator("[data-test=review-author]")).to_have_text("王磊")
    expect(page.locator("[data-test=thumbnail]")).to_have_count(2)
    # The study in the same embedded OHIF viewer as the reading page, with the senior's login.
    frame = page.locator("[data-test=review] [data-test=viewer-frame]")
    expect(frame).to_have_attribute("src", re.compile(r"^/viewer/viewer\?StudyInstanceUIDs="))
    viewer = page.frame_locator("[data-test=review] [data-test=viewer-frame]")
    expect(viewer.locator("canvas.cornerstone-canvas").first).to_be_visible(timeout=90_000)
    expect(viewer.locator("#yilian-viewer-message")).to_have_count(0)
    expect(page.locator("[data-test=verify]")).to_be_in_viewport()
    page.wait_for_timeout(400)  # the drawer's slide-in, for the screenshot
    screenshot(page, "review-zh")
    no_serious_violations(page)
    page.click("[data-test=verify]")
    expect(page.locator(".el-message--success")).to_be_visible()
    expect(row_of(page, task)).to_have_count(0)


def test_the_clinic_sees_it_released_and_reads_the_report(watched: Page, base: str, task: dict):
    page = watched
    logged_in(page, base, "jianghua")
    page.click("[data-test=menu-orders]")
    row = row_of(page, task)
    expect(row.locator("[data-test=state]")).to_have_text("已发布")
    screenshot(page, "orders-clinician-zh")
    row.locator("[data-test=view-report]").click()
    dialog = page.locator("[data-test=report-dialog]")
    expect(dialog.locator("[data-test=report-impression]")).to_have_text(IMPRESSION)
    expect(dialog.locator("[data-test=report-verifier]")).to_have_text("赵敏")
    expect(dialog.locator("[data-test=report-author]")).to_have_text("王磊")
    with page.expect_download() as downloaded:
        dialog.locator("[data-test=report-pdf]").click()
    path = Path(downloaded.value.path())
    assert path.read_bytes().startswith(b"%PDF")
    screenshot(page, "orders-report-zh")
    no_serious_violations(page)


def test_sent_back_rewritten_then_returned_to_the_clinic(
    browser: Browser, served: Running, base: str, task: dict, tmp_path: Path
):
    """赵敏 sends a report back with a comment; 王磊 finds it 阅片中 again with his text and the
    comment, reports a critical value, then returns the examination to the clinic; 蒋华 sees
    已退回 and why."""
    second = ready_task(served, base, tmp_path / "ct", task["for"]["reference"])  # a next exam
    contexts = [browser.new_context(viewport=VIEWPORT) for _ in range(3)]
    try:
        wang, zhao, jiang = (context.new_page() for context in contexts)
        logged_in(wang, base, "wanglei")
        wang.click("[data-test=menu-worklist]")
        row_of(wang, second).locator("[data-test=claim]").click()
        wang.fill("#findings", FINDINGS)
        wang.fill("#impression", IMPRESSION)
        wang.click("[data-test=submit]")
        expect(row_of(wang, second).locator("[data-test=state]")).to_have_text("待审核")

        logged_in(zhao, base, "zhaomin")
        zhao.click("[data-test=menu-verify]")
        row_of(zhao, second).locator("[data-test=open]").click()
        zhao.click("[data-test=send-back]")
        zhao.fill("#send-back-comment", "请补充脑室描述")
        zhao.click("[data-test=send-back-confirm]")
        expect(row_of(zhao, second)).to_have_count(0)

        wang.click("[data-test=refresh]")
        expect(row_of(wang, second).locator("[data-test=state]")).to_have_text("阅片中")
        wang.click("[data-test=language]")
        expect(row_of(wang, second).locator("[data-test=state]")).to_have_text("Reading")
        expect(row_of(wang, second).locator("[data-test=urgent]")).to_have_text("Urgent")
        screenshot(wang, "worklist-reader-en")
        wang.click("[data-test=language]")
        row_of(wang, second).locator("[data-test=open]").click()
        expect(wang.locator("#findings")).to_have_value(FINDINGS)
        expect(wang.locator("[data-test=notes]")).to_contain_text("请补充脑室描述")
        expect(wang.locator("[data-test=priors]")).to_contain_text(IMPRESSION)  # the first exam
        wang.click("[data-test=critical]")
        wang.fill("textarea[data-test=critical-finding]", "左侧基底节区高密度影")
        wang.click("[data-test=critical-confirm]")
        expect(wang.locator("[data-test=notes]")).to_contain_text(
            "危急值已通知申请机构：左侧基底节区高密度影"
        )
        wang.click("[data-test=return]")
        wang.locator("[data-test=return-reason]").click()
        wang.locator(".el-select-dropdown__item", has_text="图像质量不合格").click()
        wang.fill("textarea[data-test=return-text]", "伪影严重")
        wang.click("[data-test=return-confirm]")
        wang.wait_for_url(f"{base}/app/worklist")
        expect(row_of(wang, second)).to_have_count(0)

        logged_in(jiang, base, "jianghua")
        jiang.click("[data-test=menu-orders]")
        row = row_of(jiang, second)
        expect(row.locator("[data-test=state]")).to_have_text("已退回")
        expect(row.locator("[data-test=returned-reason]")).to_have_text("图像质量不合格：伪影严重")
        screenshot(jiang, "orders-returned-zh")
    finally:
        for context in contexts:
            context.close()


def test_a_reader_shows_the_patients_id_number_then_hides_it(
    watched: Page, served: Running, base: str, tmp_path: Path
):
    """The 身份证号 is masked on the reading page; 显示 asks the server (which records it) and
    the whole number appears; 隐藏 masks it again."""
    id_number = "330702198001011232"
    patient = fhir(base, his_token(base), "POST", "Patient", {
        "resourceType": "Patient", "name": [{"text": "钱多多"}], "gender": "female",
        "identifier": [{"system": "urn:oid:2.16.156.10011.1.3", "value": id_number}],
    })  # fmt: skip
    third = ready_task(served, base, tmp_path / "ct", f"Patient/{patient['id']}")
    page = watched
    logged_in(page, base, "wanglei")
    claim_from_worklist(page, base, third)
    value = page.locator("[data-test=summary] [data-test=identity-value]")
    toggle = page.locator("[data-test=summary] [data-test=identity-toggle]")
    expect(value).to_have_text("330702********1232")
    assert id_number not in page.locator("main").inner_text()
    with page.expect_response(lambda r: r.url.endswith("/$reveal-identifier")) as answered:
        toggle.click()
    assert answered.value.status == 200
    expect(value).to_have_text(id_number)
    expect(toggle).to_have_text("隐藏")
    screenshot(page, "reading-id-number-shown-zh")
    toggle.click()
    expect(value).to_have_text("330702********1232")
    expect(toggle).to_have_text("显示")
    assert id_number not in page.locator("main").inner_text()


# --- the signed reading on the month's settlement (结算) -----------------------------------

LINE = ["yx-ct", "远程影像诊断（CT）", "每例", "1", "60.00", "60.00"]


@pytest.fixture(scope="module")
def month(base: str, task: dict) -> str:
    """The month of the signed reading's charge (made by the server's worker, awaited)."""
    search = f"ChargeItem?subject={task['for']['reference']}"
    deadline = time.monotonic() + 60
    while not (charges := fhir(base, his_token(base), "GET", search).get("entry", [])):
        assert time.monotonic() < deadline, "the signed reading was never charged"
        time.sleep(0.3)
    occurred = charges[0]["resource"]["occurrenceDateTime"].replace("Z", "+00:00")
    return datetime.fromisoformat(occurred).astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")


def pair_rows(page: Page):
    return page.locator("[data-pair='tx-wsy>jhzx'] [data-test=pair-lines] tbody tr")


def test_the_lead_hospitals_head_reads_and_downloads_the_months_statement(
    watched: Page, base: str, month: str, tmp_path: Path
):
    page = watched
    logged_in(page, base, "lihua")
    page.click("[data-test=menu-settlement]")
    expect(page.locator("main h1")).to_have_text("结算")
    pair = page.locator("[data-pair='tx-wsy>jhzx']")
    expect(pair.locator("[data-test=pair-parties]")).to_have_text(
        "婺城区汤溪镇中心卫生院 → 金华市中心医院"
    )
    expect(pair_rows(page)).to_have_count(1)
    expect(pair_rows(page).first.locator("td")).to_have_text(LINE)
    expect(pair.locator("[data-test=pair-total]")).to_have_text("小计：1 项，60.00 元")
    expect(page.locator("[data-test=month-total]")).to_have_text(f"{month} 合计：60.00 元")
    expect(page.locator("[data-test=statement] .el-loading-mask")).to_have_count(0)
    fits_the_width(page)
    screenshot(page, "settlement-zh")
    no_serious_violations(page)

    with page.expect_download() as downloading:
        page.click("[data-test=download]")
    download = downloading.value
    assert download.suggested_filename == f"settlement-{month}.csv"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    data = saved.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM: Excel shows the Chinese
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[1] == [month, "婺城区汤溪镇中心卫生院", "金华市中心医院", *LINE]

    year, number = map(int, month.split("-"))
    earlier = f"{year - (number == 1)}-{(number - 2) % 12 + 1:02d}"
    picker = page.locator("#settlement-month")
    picker.fill(earlier)
    picker.press("Enter")
    expect(page.locator("[data-test=month-total]")).to_have_text(f"{earlier} 合计：0.00 元")
    expect(page.locator("[data-test=statement] .el-empty")).to_contain_text("本月暂无结算项目")

    picker.fill(month)
    picker.press("Enter")
    page.click("[data-test=language]")
    expect(page.locator("main h1")).to_have_text("Settlement")
    expect(pair_rows(page).first.locator("td").nth(2)).to_have_text("exam")
    expect(page.locator("[data-test=month-total]")).to_have_text(f"Total for {month}: 60.00 CNY")
    fits_the_width(page)
    screenshot(page, "settlement-en")


def test_the_clinics_head_sees_the_same_pair(watched: Page, base: str, month: str):
    logged_in(watched, base, "wangjianguo")
    watched.click("[data-test=menu-settlement]")
    expect(pair_rows(watched)).to_have_count(1)
    expect(pair_rows(watched).first.locator("td")).to_have_text(LINE)
    expect(watched.locator("[data-test=month-total]")).to_have_text(f"{month} 合计：60.00 元")


def test_the_heads_dashboard_counts_the_readings_by_centre_and_priority(
    watched: Page, base: str, month: str
):
    """The month's remote readings on 李华's dashboard: one table and chart per stratifier —
    the imaging centre, and 急诊 (the module's orders are stat)."""
    page = watched
    logged_in(page, base, "lihua")
    page.click("[data-test=menu-indicators]")
    picker = page.locator("#indicators-month")
    picker.fill(month)
    picker.press("Enter")
    page.locator("[data-test=indicators] tbody tr", has_text="远程诊断量").click()
    detail = page.locator("[data-test=detail]")
    centre = detail.locator("[data-stratifier=centre]")
    expect(centre.locator("h3")).to_have_text("按诊断中心")
    expect(centre.locator("[data-test=strata]")).to_contain_text("金华市中心医院医学影像中心")
    priority = detail.locator("[data-stratifier=priority]")
    expect(priority.locator("[data-test=strata] tbody tr")).to_have_count(1)
    expect(priority.locator("[data-test=strata]")).to_contain_text("急诊")
    expect(detail.locator("[data-test=indicator-chart] svg")).to_have_count(2)
    no_serious_violations(page)
    fits_the_width(page)
    screenshot(page, "indicators-reading")
