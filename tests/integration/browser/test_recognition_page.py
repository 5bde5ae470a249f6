"""The result-recognition page (互认审阅), in a real browser against ``yilian serve --demo``:
王小明 had a head CT and a chest CT at 金华市中心医院 days ago (its HIS wrote the orders and the
final reports) and a potassium; 汤溪卫生院 registers him again and orders all three, and a
blood count.  蒋华 opens 互认审阅: each order shows the prompt and the lead hospital's prior
under its mark, the blood count 无可互认结果; 调阅报告 opens the head CT report and the
potassium's value; 互认 revokes the head CT order; 不互认 for the chest CT is refused by the
server without words for 其他, then recorded with 病情变化.  Both decisions are DetectedIssues
the clinic's HIS finds.  The link of a CDS Hooks card opens the head CT report on a page of its
own after the login; a report the clinic may not read is said so."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.integration.browser.conftest import (
    PASSWORD,
    fits_the_width,
    logged_in,
    no_serious_violations,
    screenshot,
    settled,
)
from tests.integration.browser.reading_setup import fhir
from tests.integration.browser.test_referrals_page import MINUTE, token
from tests.integration.test_serve import Running

ID_NUMBER = "330702197501014327"
ID_CARD = "urn:oid:2.16.156.10011.1.3"
DCM = "http://dicom.nema.org/resources/ontology/DCM"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
HEAD, CHEST = "69536005", "51185008"
PROMPT = "有互认检查项目，请审阅并选择『互认』或『不互认』"
HEAD_CONCLUSION = "颅脑CT平扫未见明显异常。"
MARK = "http://yilian.example/fhir/StructureDefinition/recognition-mark"


def ago(days: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat(timespec="seconds")


def registered(base: str, his: str) -> str:
    """王小明 as the HIS registers him; his Patient id."""
    return fhir(base, his, "POST", "Patient", {
        "resourceType": "Patient", "identifier": [{"system": ID_CARD, "value": ID_NUMBER}],
        "name": [{"text": "王小明"}], "gender": "male", "birthDate": "1975-01-01",
    })["id"]  # fmt: skip


def ct_order(patient: str, site: str, text: str, org: str, days: float = 0) -> dict:
    return {
        "resourceType": "ServiceRequest", "status": "active", "intent": "order",
        "code": {"coding": [{"system": DCM, "code": "CT"}], "text": text},
        "bodySite": [{"coding": [{"system": SNOMED, "code": site}]}],
        "subject": {"reference": f"Patient/{patient}"},
        "requester": {"reference": f"Organization/{org}"}, "authoredOn": ago(days),
    }  # fmt: skip


@pytest.fixture(scope="module")
def orders(served: Running, base: str) -> dict[str, str]:
    """The lead hospital's two CTs with their final reports and a potassium, and the clinic's
    open orders for the same person: their ids (``head``, ``chest``, ``blood``,
    ``potassium``)."""
    lead, clinic = token(base, "his-jhzx"), token(base, "his-tx-wsy")
    at_lead = registered(base, lead)
    for site, text, days, conclusion, marks in (
        (HEAD, "头颅CT平扫", 5, HEAD_CONCLUSION, [{"url": MARK, "valueString": "金HR"}]),
        (CHEST, "胸部CT平扫", 12, "两肺未见明显实质性病变。", []),
    ):
        done = fhir(base, lead, "POST", "ServiceRequest",
                    ct_order(at_lead, site, text, "jhzx", days + 0.1))  # fmt: skip
        fhir(base, lead, "POST", "DiagnosticReport", {
            "resourceType": "DiagnosticReport", "status": "final", "code": done["code"],
            "subject": done["subject"], "basedOn": [{"reference": f"ServiceRequest/{done['id']}"}],
            "effectiveDateTime": ago(days), "issued": ago(days - 0.1),
            "performer": [{"reference": "Organization/jhzx"}], "conclusion": conclusion,
            **({"extension": marks} if marks else {}),
        })  # fmt: skip
    fhir(base, lead, "POST", "Observation", {
        "resourceType": "Observation", "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "2823-3"}], "text": "钾"},
        "subject": {"reference": f"Patient/{at_lead}"}, "effectiveDateTime": ago(2),
        "valueQuantity": {"value": 4.1, "unit": "mmol/L"},
        "performer": [{"reference": "Organization/jhzx"}],
    })  # fmt: skip
    at_clinic = registered(base, clinic)
    potassium = {
        **ct_order(at_clinic, HEAD, "血钾", "tx-wsy"),
        "code": {"coding": [{"system": LOINC, "code": "2823-3"}], "text": "血钾"},
    }
    placed = {
        "head": ct_order(at_clinic, HEAD, "头颅CT平扫", "tx-wsy"),
        "chest": ct_order(at_clinic, CHEST, "胸部CT平扫", "tx-wsy"),
        "blood": {**ct_order(at_clinic, HEAD, "血常规", "tx-wsy"), "code": {"text": "血常规"}},
        "potassium": potassium,
    }  # fmt: skip
    for lab in ("blood", "potassium"):
        del placed[lab]["bodySite"]
    return {n: fhir(base, clinic, "POST", "ServiceRequest", o)["id"] for n, o in placed.items()}


def test_the_doctor_recognises_the_head_ct_and_repeats_the_chest_ct(
    watched: Page, base: str, orders: dict[str, str]
):
    page = watched
    logged_in(page, base, "jianghua")
    page.click("[data-test=menu-recognition]")
    expect(page.locator("main h1")).to_have_text("互认审阅")
    head, chest, blood, potassium = (page.locator(f"[data-order='{orders[n]}']") for n in orders)
    for order, exam in ((head, "头颅CT平扫"), (chest, "胸部CT平扫")):
        expect(order.locator("[data-test=order-exam]")).to_have_text(exam)
        expect(order.locator("[data-test=order-patient]")).to_contain_text("王小明")
        expect(order.locator("[data-test=identity-value]")).to_have_text("330702********4327")
        expect(order.locator("[data-test=order-time]")).to_have_text(MINUTE)
        expect(order.locator("[data-test=prompt]")).to_contain_text(PROMPT)
        expect(order.locator("[data-test=prior-item]")).to_have_text(exam)  # the catalogue's
        expect(order.locator("[data-test=prior-mark]")).to_have_text("金HR")
        expect(order.locator("[data-test=prior-institution]")).to_have_text("金华市中心医院")
        expect(order.locator("[data-test=prior-obtained]")).to_have_text(MINUTE)
        expect(order.locator("[data-test=prior-until]")).to_have_text(MINUTE)
    expect(head.locator("[data-test=prior-conclusion]")).to_have_text(HEAD_CONCLUSION)
    expect(blood.locator("[data-test=no-priors]")).to_have_text("无可互认结果")
    expect(blood.locator("[data-test=prompt]")).to_have_count(0)
    fits_the_width(page)
    settled(page)  # the loading veil fading out, for the screenshot
    screenshot(page, "recognition-zh")
    no_serious_violations(page)

    # 调阅报告: the lead hospital's report, shared with the clinic when it was offered.
    with page.expect_response(re.compile(r"/fhir/DiagnosticReport/[^/?]+$")) as opened:
        head.locator("[data-test=open-report]").click()
    assert opened.value.status == 200
    dialog = page.locator("[data-test=prior-dialog]")
    expect(dialog.locator("[data-test=report-impression]")).to_have_text(HEAD_CONCLUSION)
    expect(dialog.locator("[data-test=result-institution]")).to_have_text("金华市中心医院")
    settled(page)  # the dialog's fade-in, for the screenshot
    screenshot(page, "recognition-report-zh")
    no_serious_violations(page)
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    # A lab result (浙HR, 7 days) opens as its value and unit.
    expect(potassium.locator("[data-test=prior-mark]")).to_have_text("浙HR")
    potassium.locator("[data-test=open-report]").click()
    expect(dialog.locator("[data-test=result-value]")).to_have_text("4.1 mmol/L")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    # 互认: the head CT is not repeated — the server revokes the order.
    head.locator("[data-test=recognise]").click()
    page.locator("[data-test=decision-dialog] [data-test=explained]").click()
    with page.expect_response(lambda r: r.url.endswith("/$recognition-decision")) as answered:
        page.click("[data-test=submit-decision]")
    assert answered.value.status == 201, answered.value.text()
    expect(page.locator(".el-message--success")).to_contain_text("已互认，本次检查已撤销")
    expect(head.locator("[data-test=order-state]")).to_have_text("已互认，本次检查已撤销")
    expect(head.locator("[data-test=prior-decision]")).to_have_text("已互认")
    expect(head.locator("[data-test=recognise]")).to_have_count(0)
    clinic = token(base, "his-tx-wsy")
    assert fhir(base, clinic, "GET", f"ServiceRequest/{orders['head']}")["status"] == "revoked"

    # 不互认: 其他 without words is refused by the server, shown as it said it; 病情变化 is kept.
    chest.locator("[data-test=repeat]").click()
    decision = page.locator("[data-test=decision-dialog]")
    expect(page.locator("[data-test=submit-decision]")).to_be_disabled()  # a reason first
    decision.locator("[data-test=decision-reason]").click()
    page.locator(".el-select-dropdown__item", has_text="其他").click()
    with page.expect_response(lambda r: r.url.endswith("/$recognition-decision")) as answered:
        page.click("[data-test=submit-decision]")
    assert answered.value.status == 422
    expect(decision.locator("[data-test=decision-refused]")).to_contain_text("reasonText")
    page.wait_for_timeout(300)  # the select's dropdown closing, for the screenshot
    screenshot(page, "recognition-repeat-zh")
    no_serious_violations(page)
    decision.locator("[data-test=decision-reason]").click()
    page.locator(".el-select-dropdown__item", has_text="病情变化").click()
    page.fill("#decision-text", "咯血加重，需复查")
    decision.locator("[data-test=explained]").click()
    expect(decision.locator("[data-test=decision-refused]")).to_have_count(0)
    with page.expect_response(lambda r: r.url.endswith("/$recognition-decision")) as answered:
        page.click("[data-test=submit-decision]")
    assert answered.value.status == 201, answered.value.text()
    expect(chest.locator("[data-test=prior-decision]")).to_have_text("不互认：病情变化")
    expect(chest.locator("[data-test=prompt]")).to_have_count(0)  # nothing left to decide
    assert fhir(base, clinic, "GET", f"ServiceRequest/{orders['chest']}")["status"] == "active"

    found = fhir(base, clinic, "GET", "DetectedIssue?implicated="
                 f"ServiceRequest/{orders['head']},ServiceRequest/{orders['chest']}")  # fmt: skip
    issues = {
        e["resource"]["implicated"][0]["reference"]: e["resource"] for e in found.get("entry", [])
    }
    assert set(issues) == {f"ServiceRequest/{orders[n]}" for n in ("head", "chest")}
    actions = {
        ref: [m["action"]["coding"][0]["code"] for m in issue["mitigation"]]
        for ref, issue in issues.items()
    }
    assert actions[f"ServiceRequest/{orders['head']}"] == ["recognised", "explained"]
    assert actions[f"ServiceRequest/{orders['chest']}"] == ["repeated", "explained"]
    chest_issue = issues[f"ServiceRequest/{orders['chest']}"]
    assert chest_issue["mitigation"][0]["action"]["text"] == "病情变化；咯血加重，需复查"

    # Looked at again: the revoked order is gone, the decision about the chest CT is kept.
    with page.expect_response(lambda r: "/fhir/DetectedIssue?" in r.url):
        page.click("[data-test=refresh]")
    expect(head).to_have_count(0)
    expect(chest.locator("[data-test=prior-decision]")).to_have_text("不互认：病情变化")
    expect(chest.locator("[data-test=repeat]")).to_have_count(0)
    page.click("[data-test=only-offered]")
    expect(blood).to_have_count(0)
    expect(chest).to_have_count(1)
    page.click("[data-test=language]")
    expect(page.locator("main h1")).to_have_text("Result recognition")
    expect(chest.locator("[data-test=prior-decision]")).to_have_text("Repeated: Condition changed")
    expect(potassium.locator("[data-test=prompt]")).to_have_text(
        "Recognisable results exist: review them and choose Recognise or Repeat"
    )
    fits_the_width(page)
    settled(page)
    screenshot(page, "recognition-en")
    no_serious_violations(page)


def test_the_cds_card_link_opens_the_prior_report_after_the_login(
    watched: Page, base: str, orders: dict[str, str]
):
    """The clinic's HIS asks order-sign about a draft head CT; the doctor follows the card's
    link (调阅报告), logs in and lands on the lead hospital's report."""
    clinic = token(base, "his-tx-wsy")
    subject = fhir(base, clinic, "GET", f"ServiceRequest/{orders['chest']}")["subject"]
    patient = subject["reference"].removeprefix("Patient/")
    draft = ct_order(patient, HEAD, "头颅CT平扫", "tx-wsy")
    draft |= {"id": "draft-head", "status": "draft"}
    answer = httpx.post(f"{base}/cds-services/yilian-recognition-sign", json={
        "hookInstance": str(uuid.uuid4()), "hook": "order-sign",
        "context": {"userId": "Practitioner/jianghua", "patientId": patient,
                    "draftOrders": {"resourceType": "Bundle", "type": "collection",
                                    "entry": [{"resource": draft}]}},
    }, headers={"Authorization": f"Bearer {clinic}"})  # fmt: skip
    assert answer.status_code == 200, answer.text
    [card] = answer.json()["cards"]
    [link] = card["links"]
    assert link["type"] == "absolute"
    assert re.fullmatch(rf"{re.escape(base)}/app/results/DiagnosticReport/[^/]+", link["url"])

    page = watched
    signed_in_at(page, link["url"])
    expect(page.locator("main h1")).to_have_text("调阅报告")
    expect(page.locator("[data-test=report-impression]")).to_have_text(HEAD_CONCLUSION)
    expect(page.locator("[data-test=result-mark]")).to_have_text("金HR")
    expect(page.locator("[data-test=result-institution]")).to_have_text("金华市中心医院")
    expect(page.locator("[data-test=result-status]")).to_have_text("已出报告")
    fits_the_width(page)
    settled(page)
    screenshot(page, "result-page-zh")
    no_serious_violations(page)

    # A report the clinic may not read (or that is not there): the server's 404, said plainly.
    signed_in_at(page, f"{base}/app/results/DiagnosticReport/not-offered")
    expect(page.locator("[data-test=result-refused]")).to_have_text("找不到此结果，或您无权查看。")


def signed_in_at(page: Page, url: str) -> None:
    """Open ``url`` without a login, log in as 蒋华 and be brought back to it."""
    page.goto(url)
    page.wait_for_selector("#username")
    page.fill("#username", "jianghua")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(url)
