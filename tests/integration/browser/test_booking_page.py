"""The booking calendar (预约检查) in a real browser against ``yilian serve --demo``, whose
imaging centre publishes CT slots from the demo alliance file: clinician 蒋华 of 汤溪卫生院
books next week's first members' slot for her clinic's CT order, moves it to another slot and
cancels a second booking with a reason; 杨帆 at the lead hospital sees the clinic's booking and
records the no-show.  The server does the booking: a slot another clinic booked is not free."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.integration.browser.conftest import fits_the_width, logged_in, screenshot
from tests.integration.browser.reading_setup import fhir, his_token
from tests.integration.browser.test_reading_pages import no_serious_violations
from tests.integration.fhir.test_rest import PATIENT

CATEGORY = "http://yilian.example/fhir/CodeSystem/exam-category"
DCM = "http://dicom.nema.org/resources/ontology/DCM"


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
        expect(booked).to_contain_text("爽约")
    finally:
        centre.close()
    page.click("[data-test=refresh]")
    expect(page.locator("[data-test=appointments]")).to_contain_text("爽约")
