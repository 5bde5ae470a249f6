"""Commissioned pathology in the web app, in a real browser against ``yilian serve --demo``:
婺城区人民医院's HIS orders a biopsy with two specimens (FHIR); clinician 孙丽 sees them numbered
on 标本追踪 and sends them (送检); reader 王磊 of the lead hospital's pathology centre signs for
both (签收), rejects the margin for insufficient fixative with a text and accepts the antrum; 孙丽
sees the rejection's reason.  王磊 claims the case, writes 大体所见, 镜下所见, a CK result on the
accepted specimen and 病理诊断, and submits; senior reader 陈静 verifies: the report is final with
its sections and the contained IHC Observation (asserted through FHIR).  陈静 then adds a
supplementary report (补充报告) with a HER2 result: appended, what was said unchanged."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.integration.browser.conftest import logged_in, no_serious_violations, screenshot
from tests.integration.browser.reading_setup import (
    claim_from_worklist,
    fhir,
    his_token,
    task_when_ready,
)
from tests.integration.fhir.test_pathology_specimens import pathology_order, specimen
from tests.integration.test_serve import Running

CLINIC = "his-wcrm"
CANONICAL = "http://yilian.example/fhir"
ID_NUMBER = "330702196805204321"
GROSS = "灰白色组织3块，大者0.3×0.2×0.2cm，全部取材。"
MICROSCOPIC = "胃黏膜内见异型腺体浸润性生长，细胞核大深染。"
DIAGNOSIS = "（胃窦）中分化腺癌。"
REASON_TEXT = "固定液量不足标本体积的3倍"


@pytest.fixture(scope="module")
def ordered(served: Running, base: str) -> dict:
    """The biopsy order and its specimens (胃窦 3块, 切缘 1块), as the clinic's HIS wrote them."""
    token = his_token(base, CLINIC)
    patient = fhir(base, token, "POST", "Patient", {
        "resourceType": "Patient", "name": [{"text": "李秀英"}], "gender": "female",
        "birthDate": "1968-05-20",
        "identifier": [{"system": "urn:yilian:patient-id:wcrm", "value": "WC0042"},
                       {"system": "urn:oid:2.16.156.10011.1.3", "value": ID_NUMBER}],
    })  # fmt: skip
    order = fhir(base, token, "POST", "ServiceRequest", pathology_order(patient["id"]))
    stomach, margin = (fhir(base, token, "POST", "Specimen", specimen(order, site, pieces))
                       for site, pieces in (("胃窦", 3), ("切缘", 1)))  # fmt: skip
    return {"token": token, "order": order, "stomach": stomach, "margin": margin}


def row(page: Page, made: dict):
    """The specimen's row on 标本追踪."""
    return page.locator(f"[data-test=specimens] tbody tr:has([data-specimen='{made['id']}'])")


def step(page: Page, made: dict, action: str, done: str) -> None:
    row(page, made).locator(f"[data-test=action-{action}]").click()
    expect(page.locator(".el-message--success").last).to_have_text(done)


def switch_to(page: Page, base: str, who: str) -> None:
    page.click("[data-test=logout]")
    page.wait_for_selector("#username")
    logged_in(page, base, who)


def pick(page: Page, select: str, option: str) -> None:
    """Open an Element Plus select and click the option whose text is exactly ``option``."""
    page.click(select)
    page.locator(".el-select-dropdown__item:visible").filter(
        has_text=re.compile(rf"^\s*{re.escape(option)}\s*$")
    ).click()


def test_specimens_tracked_one_rejected_the_other_read_and_verified(
    watched: Page, base: str, ordered: dict
):
    page, stomach, margin = watched, ordered["stomach"], ordered["margin"]
    numbers = [s["accessionIdentifier"]["value"] for s in (stomach, margin)]

    # 孙丽 of the clinic: both numbered, the patient's ID masked; she sends them.
    logged_in(page, base, "sunli")
    page.click("[data-test=menu-specimens]")
    for made, number in zip((stomach, margin), numbers, strict=True):
        expect(row(page, made).locator("[data-test=specimen-number]")).to_have_text(number)
        expect(row(page, made).locator("[data-test=specimen-step]")).to_have_text("已编号")
    expect(row(page, stomach)).to_contain_text("胃窦 3块")
    expect(row(page, stomach)).to_contain_text("2026-12-02 09:10")
    expect(row(page, stomach).locator("[data-test=identity-value]")).not_to_contain_text(ID_NUMBER)
    expect(row(page, stomach).locator("[data-test=action-receive]")).to_have_count(0)
    with page.expect_popup() as popup:
        row(page, stomach).locator("[data-test=action-label]").click()
    label = popup.value.locator("[data-test=specimen-label]")
    expect(label).to_have_count(1)
    assert label.evaluate("image => image.decode().then(() => image.naturalWidth)") > 0
    popup.value.close()
    for made in (stomach, margin):
        step(page, made, "send", "已送检")
        expect(row(page, made).locator("[data-test=specimen-step]")).to_have_text("已送检")
    no_serious_violations(page)

    # 王磊 of the pathology centre: signs for both, rejects the margin with its reason, accepts
    # the antrum.
    switch_to(page, base, "wanglei")
    page.click("[data-test=menu-specimens]")
    for made in (stomach, margin):
        step(page, made, "receive", "已签收")
    expect(row(page, stomach).locator("[data-test=action-accept]")).to_be_visible()
    row(page, margin).locator("[data-test=action-reject]").click()
    pick(page, "[data-test=reject-reason]", "其他")
    expect(page.locator("[data-test=reject-confirm]")).to_be_disabled()  # "other" needs a text
    pick(page, "[data-test=reject-reason]", "固定液不足")
    page.fill("[data-test=reject-text]", REASON_TEXT)
    screenshot(page, "specimen-reject-zh")
    no_serious_violations(page)
    page.click("[data-test=reject-confirm]")
    expect(page.locator(".el-message--success").last).to_have_text("已拒收，已通知申请机构")
    step(page, stomach, "accept", "已接收")
    expect(row(page, stomach).locator("[data-test=specimen-step]")).to_have_text("已接收")
    expect(row(page, margin).locator("[data-test=specimen-rejection]")).to_have_text(
        f"拒收原因：固定液不足：{REASON_TEXT}"
    )

    # 孙丽 sees why the margin was rejected.
    switch_to(page, base, "sunli")
    page.click("[data-test=menu-specimens]")
    expect(row(page, margin).locator("[data-test=specimen-step]")).to_have_text("已拒收")
    expect(row(page, margin).locator("[data-test=specimen-rejection]")).to_contain_text(REASON_TEXT)
    expect(row(page, stomach).locator("[data-test=specimen-step]")).to_have_text("已接收")
    screenshot(page, "specimens-clinic-zh")

    # 王磊 reads the case: the order's specimens, the sections, a CK result on the antrum.
    task = task_when_ready(base, ordered["token"], ordered["order"])
    switch_to(page, base, "wanglei")
    claim_from_worklist(page, base, task)
    listed = page.locator("[data-test=order-specimens]")
    expect(listed.locator(f"[data-specimen='{margin['id']}']")).to_contain_text("已拒收")
    expect(listed.locator(f"[data-specimen='{stomach['id']}']")).to_contain_text("已接收")
    expect(page.locator("[data-test=viewer-frame]")).to_have_count(0)
    page.fill("#pathology-gross", GROSS)
    page.fill("#pathology-microscopic", MICROSCOPIC)
    page.click("[data-test=ihc-add]")
    pick(page, "[data-test=ihc-row] [data-test=ihc-marker]", "CK")
    pick(page, "[data-test=ihc-row] [data-test=ihc-result]", "阳性")
    expect(page.locator("[data-test=ihc-row] [data-test=ihc-specimen]")).to_contain_text(numbers[0])
    page.fill("#pathology-diagnosis", DIAGNOSIS)
    screenshot(page, "pathology-reading-zh")
    no_serious_violations(page)
    page.click("[data-test=submit]")
    expect(page.locator(".el-message--success").last).to_have_text("已提交审核")
    page.wait_for_url(f"{base}/app/worklist")

    # 陈静 verifies.
    switch_to(page, base, "chenjing")
    page.click("[data-test=menu-verify]")
    review = page.locator(f"[data-test=tasks] tbody tr:has([data-task='{task['id']}'])")
    review.locator("[data-test=open]").click()
    drawer = page.locator("[data-test=review]")
    expect(drawer.locator("[data-test=pathology-diagnosis]")).to_have_value(DIAGNOSIS)
    expect(drawer.locator("[data-test=ihc-marker]")).to_have_text("CK")
    page.click("[data-test=verify]")
    expect(page.locator(".el-message--success").last).to_have_text("报告已签发")

    # Through FHIR: final, with its sections, its specimen and the contained CK result.
    done = fhir(base, ordered["token"], "GET", f"Task/{task['id']}")
    assert done["status"] == "completed"
    report = fhir(base, ordered["token"], "GET", done["output"][0]["valueReference"]["reference"])
    assert report["status"] == "final"
    assert report["resultsInterpreter"][0]["reference"] == "Practitioner/chenjing"
    sections = {e["url"].rsplit("/", 1)[1]: e.get("valueString") for e in report["extension"]}
    assert (sections["pathology-gross"], sections["pathology-microscopic"]) == (GROSS, MICROSCOPIC)
    assert report["conclusion"] == DIAGNOSIS
    assert report["specimen"] == [{"reference": f"Specimen/{stomach['id']}"}]
    [ck] = report["contained"]
    assert report["result"] == [{"reference": f"#{ck['id']}"}]
    assert ck["code"]["coding"][0]["system"] == f"{CANONICAL}/CodeSystem/ihc-marker"
    assert ck["code"]["coding"][0]["code"] == "CK"
    assert ck["valueCodeableConcept"]["coding"][0] == {
        "system": f"{CANONICAL}/CodeSystem/ihc-result", "code": "positive"}  # fmt: skip
    assert (ck["status"], ck["specimen"]["reference"]) == ("final", f"Specimen/{stomach['id']}")

    # 陈静 adds the HER2 result as a supplementary report.
    page.evaluate(  # within the app (its tokens are in memory): the released Task's page
        "url => { history.pushState({}, '', url); dispatchEvent(new PopStateEvent('popstate')) }",
        f"/app/reading/{task['id']}",
    )
    page.click("[data-test=supplement]")
    dialog = page.locator("[data-test=supplement-dialog]")
    dialog.locator("[data-test=supplement-text]").fill("HER2(2+)，建议行FISH检测。")
    dialog.locator("[data-test=supplement-reason]").fill("免疫组化结果回报")
    dialog.locator("[data-test=ihc-add]").click()
    pick(page, "[data-test=supplement-dialog] [data-test=ihc-marker]", "HER2")
    pick(page, "[data-test=supplement-dialog] [data-test=ihc-result]", "2+")
    expect(page.locator(".el-message")).to_have_count(0)  # the sign-off's message gone
    screenshot(page, "pathology-supplement-zh")
    no_serious_violations(page)
    page.click("[data-test=supplement-confirm]")
    expect(page.locator(".el-message--success").last).to_have_text("补充报告已发布")
    expect(page.locator("[data-test=supplements]")).to_contain_text("HER2(2+)，建议行FISH检测。")
    appended = fhir(base, ordered["token"], "GET", f"DiagnosticReport/{report['id']}")
    assert appended["status"] == "appended"
    assert appended["conclusion"] == DIAGNOSIS
    assert [c["code"]["coding"][0]["code"] for c in appended["contained"]] == ["CK", "HER2"]
