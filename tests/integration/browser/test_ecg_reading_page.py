"""Reading an ECG in the web app, in a real browser against ``yilian serve --demo``: 三江社区
orders a 12-lead ECG (FHIR), its cart pushes the recording under the order's accession number
(DCMTK ``storescu``); cardiologist 何欣 of the ECG centre claims it, sees the 12 leads and the
lead II rhythm strip on ECG paper, puts the calipers on lead II and reads an interval and a
voltage that the recording's samples give, clears them with Esc, keeps the device's figures,
picks 窦性心律 from the coded conclusions and submits: the centre signs alone, so the report is
final at once with that conclusionCode (asserted through FHIR)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.dicom_data import Patient, Study
from tests.ecg_data import MEASURED, synthetic, twelve_lead
from tests.integration.browser.conftest import logged_in, no_serious_violations, screenshot
from tests.integration.browser.reading_setup import (
    accession_of,
    claim_from_worklist,
    fhir,
    his_token,
    push,
    row_of,
    task_when_ready,
)
from tests.integration.test_serve import Running

CLINIC, CART = "his-sj-sq", "SJSQ_ECG1"  # 三江社区 and its ECG cart
CATEGORY = "http://yilian.example/fhir/CodeSystem/exam-category"
CONCLUSIONS = "http://yilian.example/fhir/CodeSystem/ecg-conclusion"
LEAD_II = "131330"  # MDC_ECG_ELEC_POTL_II
LEADS = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")


@pytest.fixture(scope="module")
def recorded(served: Running, base: str, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The ECG order's Task (待阅片) and the recording's Observation, as the clinic reads it."""
    token = his_token(base, CLINIC)
    patient = fhir(base, token, "POST", "Patient", {
        "resourceType": "Patient", "name": [{"text": "李四海"}], "gender": "male",
        "birthDate": "1961-05-01",
        "identifier": [{"system": "urn:yilian:patient-id:sj-sq", "value": "SJ000777"}],
    })  # fmt: skip
    order = fhir(base, token, "POST", "ServiceRequest", {
        "resourceType": "ServiceRequest", "status": "active", "intent": "order",
        "priority": "routine",
        "category": [{"coding": [{"system": CATEGORY, "code": "ecg"}]}],
        "code": {"coding": [{"system": "urn:his:sj-sq", "code": "ECG12"}],
                 "text": "常规十二导联心电图"},
        "subject": {"reference": f"Patient/{patient['id']}"},
        "requester": {"reference": "Organization/sj-sq"},
        "authoredOn": "2026-12-02T08:30:00+08:00",
    })  # fmt: skip
    study = Study(patient=Patient(patient_id="SJ000777", name="Li^Sihai=李^四海"),
                  accession=accession_of(base, token, order), description="常规心电图")  # fmt: skip
    push(served, CART, [twelve_lead(study, synthetic(), tmp_path_factory.mktemp("cart"))])
    task = task_when_ready(base, token, order)
    found = fhir(base, token, "GET", f"Observation?derived-from=ImagingStudy/{study.study_uid}")
    [recording] = [entry["resource"] for entry in found["entry"]]
    return {"task": task, "recording": recording, "token": token}


def lead_ii(recording: dict) -> tuple[float, list[float]]:
    """Lead II of the recording as FHIR has it: the period (ms) and each sample in µV."""
    [sampled] = [c["valueSampledData"] for c in recording["component"]
                 if any(coding["code"] == LEAD_II for coding in c["code"]["coding"])]  # fmt: skip
    origin, factor = sampled["origin"]["value"], sampled.get("factor", 1)
    return float(sampled["period"]), [origin + factor * float(v) for v in sampled["data"].split()]


def click_sample(page: Page, index: int) -> None:
    """Click where sample ``index`` of the rhythm strip (lead II, from 0 s) is drawn: the
    polyline's point of that sample (one a sample at 500 Hz), brought into view first."""
    at = page.evaluate(
        """(index) => {
            const line = document.querySelector('[data-test=ecg-chart] polyline.rhythm')
            const [x, y] = line.getAttribute('points').split(' ')[index].split(',').map(Number)
            const svg = line.ownerSVGElement
            const paper = svg.parentElement
            const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width
            paper.scrollTop = y * scale - paper.clientHeight / 2
            const point = new DOMPoint(x, y).matrixTransform(svg.getScreenCTM())
            return [point.x, point.y]
        }""",
        index,
    )
    page.mouse.click(at[0], at[1])


def test_a_cardiologist_measures_lead_ii_picks_the_conclusion_and_signs(
    watched: Page, base: str, recorded: dict
):
    page, task = watched, recorded["task"]
    logged_in(page, base, "hexin")
    page.click("[data-test=menu-worklist]")
    expect(row_of(page, task).locator("[data-test=state]")).to_have_text("待阅片")
    claim_from_worklist(page, base, task)

    chart = page.locator("[data-test=ecg-chart]")
    expect(chart.locator("polyline.lead")).to_have_count(12)
    expect(chart.locator("polyline.rhythm[data-lead=II]")).to_have_count(1)
    drawn = chart.locator("polyline.lead").evaluate_all("lines => lines.map(l => l.dataset.lead)")
    assert sorted(drawn) == sorted(LEADS)
    expect(chart.locator("[data-test=ecg-scale]")).to_contain_text("25 mm/s · 10 mm/mV")
    expect(page.locator("[data-test=viewer-frame]")).to_have_count(0)  # no image viewer
    # The device's figures prefilled.
    for field, key in (("pr", "PR"), ("qrs", "QRS"), ("qt", "QT"), ("qtc", "QTc"),
                       ("axis", "QRS axis"), ("rate", "HR")):  # fmt: skip
        expect(page.locator(f"#ecg-{field}")).to_have_value(str(MEASURED[key]))
    screenshot(page, "ecg-reading-zh")
    no_serious_violations(page)

    # Calipers on lead II at 50 mm/s, zoomed 4× (1 px ≈ 1.7 ms): a peak, then the trough
    # after it, as the recording's samples have them.
    page.locator("[data-test=ecg-speed]").get_by_text("50 mm/s").click()
    for _ in range(4):
        page.click("[data-test=zoom-in]")
    expect(chart.locator("[data-test=ecg-scale]")).to_contain_text("50 mm/s · 10 mm/mV")
    period, microvolts = lead_ii(recorded["recording"])
    first_half_second = int(500 / period)
    peak = max(range(first_half_second), key=lambda i: microvolts[i])
    trough = min(range(peak, peak + 2 * first_half_second), key=lambda i: microvolts[i])
    click_sample(page, peak)
    expect(page.locator("[data-test=caliper-readout]")).to_have_text("在导联上点击第二点")
    click_sample(page, trough)
    interval = float(page.locator("[data-test=caliper-interval]").inner_text().split()[1])
    voltage = float(page.locator("[data-test=caliper-voltage]").inner_text().split()[1])
    rate = float(page.locator("[data-test=caliper-rate]").inner_text().split()[0])
    expected_ms = (trough - peak) * period
    expected_mv = (microvolts[trough] - microvolts[peak]) / 1000
    # Tolerance: one sample either way (a click lands on the nearest sample).
    assert abs(interval - expected_ms) <= period, (interval, expected_ms)
    assert interval % period == 0  # a whole number of samples apart
    assert abs(voltage - expected_mv) <= 0.01, (voltage, expected_mv)
    assert abs(rate - 60_000 / expected_ms) <= 1, rate
    expect(chart.locator("[data-test=caliper-mark]")).to_have_count(2)
    screenshot(page, "ecg-calipers-zh")
    page.locator("[data-test=ecg-view]").press("Escape")  # the keyboard clears them
    expect(chart.locator("[data-test=caliper-mark]")).to_have_count(0)
    expect(page.locator("[data-test=caliper-readout]")).to_have_text("在导联上点击第一点开始测量")
    page.click("[data-test=language]")  # the same view in English
    expect(page.locator("[data-test=caliper-readout]")).to_have_text(
        "Click a lead to place the first caliper"
    )
    expect(page.locator("[data-test=ecg-fields] legend")).to_have_text("ECG measurements")
    expect(chart).to_have_attribute("aria-label", "12-lead ECG, 50 mm/s, 10 mm/mV")
    page.click("[data-test=language]")

    page.click("[data-test=ecg-conclusions]")
    options = page.locator(".el-select-dropdown__item:visible")
    options.filter(has_text=re.compile(r"^\s*窦性心律\s*$")).click()
    page.keyboard.press("Escape")
    expect(page.locator("[data-test=ecg-conclusions]")).to_contain_text("窦性心律")
    page.click("[data-test=submit]")
    expect(page.locator(".el-message--success")).to_have_text("报告已签发")
    page.wait_for_url(f"{base}/app/worklist")

    # Through FHIR: signed alone, final, with the coded conclusion and the device's figures.
    token = recorded["token"]
    done = fhir(base, token, "GET", f"Task/{task['id']}")
    assert done["status"] == "completed"
    report = fhir(base, token, "GET", done["output"][0]["valueReference"]["reference"])
    assert report["status"] == "final"
    assert report["resultsInterpreter"][0]["reference"] == "Practitioner/hexin"
    [ours] = [c for concept in report["conclusionCode"] for c in concept["coding"]
              if c["system"] == CONCLUSIONS]  # fmt: skip
    assert ours["code"] == "sinus-rhythm"
    assert report["conclusion"] == "窦性心律"
    assert {"reference": f"Observation/{recorded['recording']['id']}"} in report["result"]
    [measured] = report["contained"]
    figures = {c["code"]["text"]: c.get("valueQuantity", {}).get("value")
               for c in measured["component"]}  # fmt: skip
    assert (figures["PR"], figures["QTc"]) == (MEASURED["PR"], MEASURED["QTc"])
