"""The booking calendar (预约检查) and the indicators page (绩效指标) in a real browser
against ``yilian serve --demo``, whose imaging centre publishes CT slots from the demo alliance
file: clinician 蒋华 of 汤溪卫生院 books next week's first members' slot for her clinic's CT
order, moves it to another slot and cancels a second booking with a reason; 杨帆 at the lead
hospital sees the clinic's booking and records the no-show; 李华 reads the month's indicators."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.integration.browser.conftest import (
    fits_the_width,
    logged_in,
    no_serious_violations,
    screenshot,
)
from tests.integration.browser.reading_setup import fhir, his_token
from tests.integration.fhir.test_rest import PATIENT

CATEGORY = "http://yilian.example/fhir/CodeSystem/exam-category"
DCM = "http://dicom.nema.org/resources/ontology/DCM"
POOL = "http://yilian.example/fhir/CodeSystem/booking-pool"


def ct_order(base: str, text: str) -> dict:
    """汤溪卫生院's HIS orders a CT for a new patient of its own."""
    token = his_token(base)
    patient = fhir(base, token, "POST", "Patient", PATIENT)
    return fhir(base, token, "POST", "ServiceRequest", {
        "resourceType": "ServiceRequest", "status": "active", "intent": "order",
        "category": [{"coding": [{"system": CATEGORY, "code": "imaging"}]}],
        "code": {"coding": [{"system": DCM, "code": "CT"}], "text": text},
        "subject": {"reference": f"Patient/{patient['id']}"},
        "requester": {"reference": "Organization/tx-wsy"},
    })  # fmt: skip


@pytest.fixture(scope="module")
def orders(base: str) -> list[dict]:
    return [ct_order(base, "胸部CT平扫"), ct_order(base, "头颅CT平扫")]


def open_ct_next_week(page: Page, base: str, user: str) -> None:
    logged_in(page, base, user)
    page.click("[data-test=menu-booking]")
    show_ct_next_week(page)


def show_ct_next_week(page: Page) -> None:
    page.click("[data-test=schedule]")
    page.get_by_role("option", name=re.compile("CT1 号机")).click()
    page.click("[data-test=next-week]")
    expect(page.locator("[data-test=slot]").first).to_be_visible()


def slots(page: Page, state: str) -> Locator:
    return page.locator(f"[data-test=slot][data-state={state}]")


def book_first_free(page: Page, exam: str) -> str:
    """Book the first free members' slot for the order of ``exam``; the slot's id."""
    slot = slots(page, "free").first
    slot_id = slot.get_attribute("data-slot") or ""
    slot.click()
    dialog = page.locator("[data-test=book-dialog]")
    expect(dialog).to_be_visible()
    page.click("[data-test=order-select]")
    page.get_by_role("option", name=re.compile(exam)).click()
    page.click("[data-test=confirm-booking]")
    expect(page.locator(f"[data-test=slot][data-slot='{slot_id}']")).to_have_attribute(
        "data-state", "mine"
    )
    return slot_id


def test_a_clinic_books_moves_and_cancels_and_the_centre_records_a_no_show(
    watched: Page, base: str, orders: list[dict]
):
    page = watched
    open_ct_next_week(page, base, "jianghua")
    # Members book the reserved share only: the hospital's own slots are not offered.
    expect(slots(page, "own").first).to_be_disabled()
    no_serious_violations(page)
    fits_the_width(page)

    first = book_first_free(page, "胸部CT平扫")
    table = page.locator("[data-test=appointments]")
    expect(table).to_contain_text("胸部CT平扫")
    expect(table).to_contain_text("已预约")
    screenshot(page, "booking-calendar")

    # Moved: the new slot is the clinic's, the old one free again.
    page.click("[data-test=reschedule]")
    expect(page.locator("[data-test=choosing]")).to_be_visible()
    target = slots(page, "free").nth(1)
    moved_to = target.get_attribute("data-slot") or ""
    target.click()
    expect(page.locator(f"[data-slot='{moved_to}']")).to_have_attribute("data-state", "mine")
    expect(page.locator(f"[data-slot='{first}']")).to_have_attribute("data-state", "free")

    second = book_first_free(page, "头颅CT平扫")
    row = table.locator("tbody tr", has_text="头颅CT平扫")
    row.locator("[data-test=cancel]").click()
    page.fill("[data-test=cancel-reason]", "患者改期")
    page.click("[data-test=confirm-cancel]")
    expect(row).to_contain_text("已取消")
    expect(page.locator(f"[data-slot='{second}']")).to_have_attribute("data-state", "free")

    # The lead hospital's desk sees 汤溪's booking and records that the patient did not come.
    centre = page.context.browser.new_context(viewport=page.viewport_size)
    try:
        desk = centre.new_page()
        open_ct_next_week(desk, base, "yangfan")
        booked = desk.locator("[data-test=appointments] tbody tr", has_text="胸部CT平扫")
        expect(booked).to_contain_text("已预约")
        booked.locator("[data-test=noshow]").click()
        # The row's status, not its text: the no-show button is labelled 爽约 too (checking the
        # row's text passed before the update was stored, and the clinic then read the
        # appointment before it).
        expect(booked.locator("[data-test=appointment-status]")).to_have_text("爽约")
        expect(booked.locator("[data-test=noshow]")).to_have_count(0)
    finally:
        centre.close()
    page.click("[data-test=refresh]")
    chest = table.locator("tbody tr", has_text="胸部CT平扫")
    expect(chest.locator("[data-test=appointment-status]")).to_have_text("爽约")


def test_the_head_reads_the_months_booking_indicators(watched: Page, base: str):
    """汤溪's HIS books a members' CT slot; 李华, head at the lead hospital, finds it in the
    month's indicators — the booking family's, per device and per member, as a chart — and
    downloads the CSV."""
    token = his_token(base)
    soon = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    members = f"service-category={POOL}|members&start=ge{soon}"
    free = fhir(base, token, "GET", "Slot?schedule=Schedule/jhzx-imaging-ct-1&status=free"
                f"&{members}&_sort=start&_count=1")  # fmt: skip
    [slot] = [entry["resource"] for entry in free["entry"]]
    request = ct_order(base, "腹部CT平扫")
    fhir(base, token, "POST", "Appointment", {
        "resourceType": "Appointment", "status": "booked",
        "slot": [{"reference": f"Slot/{slot['id']}"}], "start": slot["start"], "end": slot["end"],
        "basedOn": [{"reference": f"ServiceRequest/{request['id']}"}],
        "participant": [{"actor": request["subject"], "status": "accepted"}],
    })  # fmt: skip
    page = watched
    logged_in(page, base, "lihua")
    page.click("[data-test=menu-indicators]")
    month = page.locator("#indicators-month")
    month.fill(slot["start"][:7])
    month.press("Enter")
    # 预约检查 alone: the booking family's indicators, none of another family's.
    page.locator("[data-test=families] [data-family=booking]").click()
    expect(page.locator("[data-test=indicators] tbody tr")).to_have_count(3)
    expect(page.locator("[data-test=indicators]")).not_to_contain_text("远程诊断量")
    share = page.locator("[data-test=indicators] tbody tr", has_text="成员单位预约占比")
    expect(share.locator("[data-test=score]")).to_contain_text("%")
    share.click()
    strata = page.locator("[data-test=strata]")
    expect(strata).to_contain_text("婺城区汤溪镇中心卫生院")
    expect(page.locator("[data-test=indicator-chart] svg")).to_be_visible()
    no_serious_violations(page)
    fits_the_width(page)
    screenshot(page, "indicators")
    with page.expect_download() as downloading:
        page.click("[data-test=download]")
    sheet = Path(downloading.value.path()).read_text(encoding="utf-8-sig")
    assert "成员单位预约占比" in sheet
    assert "婺城区汤溪镇中心卫生院" in sheet
