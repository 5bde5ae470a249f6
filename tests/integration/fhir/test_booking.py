"""Exam booking (基层预约上级检查): the lead hospital's HIS publishes CT slots over FHIR, a
township clinic finds a free one, books it for its patient with the order attached,
reschedules and cancels; the centre records a no-show; other clinics and organizations outside
the alliance are refused; and of many clinics booking the last slot at once exactly one wins."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import func, select

from storage.db import transaction
from storage.models import ApiClient, Organization, SlotBooking
from storage.registry.secrets import hash_secret
from tests.conftest import new_postgres_database
from tests.integration.dicomweb.conftest import Gateway, start_gateway
from tests.integration.fhir.booking import (
    CLINIC,
    LEAD,
    POOL,
    appointment,
    book,
    changed,
    current,
    order,
    publish,
)
from tests.integration.fhir.test_orders_in import tasks_of
from tests.integration.fhir.test_rest import call
from tests.servers import drain_outbox

OTHER_CLINIC = "his-cz-sq"
OUTSIDER = "his-outsider"


@pytest.fixture(scope="module")
def centre(tmp_path_factory: pytest.TempPathFactory, demo_sqlite: Path) -> Iterator[Gateway]:
    """One gateway for the module (each test publishes its own slots); with an organization
    that is no member of the alliance and its HIS."""
    with start_gateway(tmp_path_factory.mktemp("booking"), demo_sqlite) as gateway:
        with transaction(gateway.node.platform.sessions) as session:
            session.add(Organization(id="outsider", name="外市民营医院", kind="county_hospital",
                                     national_id="91330700MA2XXXXX1K"))  # fmt: skip
            session.flush()
            scopes = "system/Appointment.crus system/Slot.rs system/Schedule.rs"
            secret = hash_secret("demo-secret-outsider")
            session.add(ApiClient(client_id=OUTSIDER, name="外市 HIS", org_id="outsider",
                                  secret_hash=secret, scopes=scopes))  # fmt: skip
        yield gateway


def outcome(answer) -> str:
    body = answer.json()
    assert body["resourceType"] == "OperationOutcome", body
    return body["issue"][0]["diagnostics"]


def test_a_clinic_finds_free_member_slots_and_books_one_for_its_order(centre: Gateway):
    slots = publish(centre, 3)
    schedule = slots[0]["schedule"]["reference"]
    day = slots[0]["start"][:10]
    search = f"/Slot?schedule={schedule}&status=free&start=ge{day}&service-category={POOL}|members"
    free = call(centre, "GET", search, CLINIC).json()
    assert sorted(e["resource"]["id"] for e in free["entry"]) == sorted(s["id"] for s in slots)
    request = order(centre)
    drain_outbox(centre.node.platform)  # the centre's reading Task and the accession number

    booked = book(centre, slots[1], request)

    assert booked.status_code == 201, booked.text
    made = booked.json()
    assert made["status"] == "booked"
    assert (made["start"], made["end"]) == (slots[1]["start"], slots[1]["end"])
    actors = {p["actor"]["reference"] for p in made["participant"]}
    assert actors == {request["subject"]["reference"], "HealthcareService/jhzx-imaging"}
    assert current(centre, f"Slot/{slots[1]['id']}", CLINIC)["status"] == "busy"
    left = call(centre, "GET", search, CLINIC).json()
    assert {e["resource"]["id"] for e in left["entry"]} == {slots[0]["id"], slots[2]["id"]}
    # The lead hospital sees the booking; the order is scheduled at the booked time (the
    # worklist's SPS start) and still has its one reading Task.
    seen = call(centre, "GET", f"/Appointment?slot=Slot/{slots[1]['id']}", LEAD).json()
    assert [e["resource"]["id"] for e in seen["entry"]] == [made["id"]]
    scheduled = current(centre, f"ServiceRequest/{request['id']}", CLINIC)
    assert scheduled["occurrenceDateTime"] == slots[1]["start"]
    drain_outbox(centre.node.platform)
    [task] = tasks_of(centre, request)
    assert task["status"] == "requested"


def test_rescheduling_moves_the_booking_and_cancelling_frees_the_slot(centre: Gateway):
    first, second = publish(centre, 2, day=4)
    request = order(centre)
    made = book(centre, first, request).json()

    moved = changed(centre, made, slot=[{"reference": f"Slot/{second['id']}"}])

    assert moved.status_code == 200, moved.text
    assert moved.json()["start"] == second["start"]
    assert current(centre, f"Slot/{first['id']}")["status"] == "free"
    assert current(centre, f"Slot/{second['id']}")["status"] == "busy"
    scheduled = current(centre, f"ServiceRequest/{request['id']}", CLINIC)
    assert scheduled["occurrenceDateTime"] == second["start"]

    cancelled = changed(centre, moved.json(), status="cancelled")

    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert current(centre, f"Slot/{second['id']}")["status"] == "free"
    unscheduled = current(centre, f"ServiceRequest/{request['id']}", CLINIC)
    assert "occurrenceDateTime" not in unscheduled
    again = changed(centre, cancelled.json(), status="booked")
    assert again.status_code == 409
    assert "cancelled" in outcome(again)
    rebooked = book(centre, second, order(centre))  # the freed slot is bookable again
    assert rebooked.status_code == 201, rebooked.text


def test_a_clinics_doctor_books_and_cancels_with_their_own_login(centre: Gateway):
    [slot] = publish(centre, 1, day=9)
    doctor = "jianghua"  # 蒋华, clinician at 汤溪卫生院

    made = book(centre, slot, order(centre), doctor)

    assert made.status_code == 201, made.text
    cancelled = changed(centre, made.json(), doctor, status="cancelled")
    assert cancelled.status_code == 200, cancelled.text
    assert current(centre, f"Slot/{slot['id']}")["status"] == "free"


def test_a_revoked_order_cancels_its_booking_and_frees_the_slot(centre: Gateway):
    [slot] = publish(centre, 1, day=8)
    request = order(centre)
    drain_outbox(centre.node.platform)
    made = book(centre, slot, request).json()
    placed = current(centre, f"ServiceRequest/{request['id']}", CLINIC)
    revoked = {k: v for k, v in placed.items() if k != "meta"} | {"status": "revoked"}
    put = call(centre, "PUT", f"/ServiceRequest/{request['id']}", CLINIC, body=revoked)
    assert put.status_code == 200, put.text

    drain_outbox(centre.node.platform)

    cancelled = current(centre, f"Appointment/{made['id']}", CLINIC)
    assert cancelled["status"] == "cancelled"
    assert "撤销" in cancelled["cancelationReason"]["text"]
    assert current(centre, f"Slot/{slot['id']}")["status"] == "free"


def test_only_the_centre_records_a_no_show(centre: Gateway):
    [slot] = publish(centre, 1, day=5)
    made = book(centre, slot, order(centre)).json()

    by_clinic = changed(centre, made, status="noshow")
    assert by_clinic.status_code == 403
    assert "only the centre" in outcome(by_clinic)
    moved_by_lead = changed(centre, made, LEAD, description="改期")
    assert moved_by_lead.status_code == 403

    noshow = changed(centre, made, LEAD, status="noshow")

    assert noshow.status_code == 200, noshow.text
    assert current(centre, f"Appointment/{made['id']}", CLINIC)["status"] == "noshow"
    assert current(centre, f"Slot/{slot['id']}")["status"] == "busy"  # the time is gone


def test_the_lead_hospital_books_its_own_share_and_records_its_no_show(centre: Gateway):
    [slot] = publish(centre, 1, members=False, day=10)

    made = book(centre, slot, order(centre, LEAD), LEAD)

    assert made.status_code == 201, made.text
    noshow = changed(centre, made.json(), LEAD, status="noshow")
    assert noshow.status_code == 200, noshow.text


def test_other_clinics_outsiders_and_taken_slots_are_refused(centre: Gateway):
    members, hospital = publish(centre, 2, day=6), publish(centre, 1, members=False, day=6)
    request = order(centre)
    made = book(centre, members[0], request).json()

    # Another clinic neither sees nor changes this clinic's appointment.
    assert call(centre, "GET", f"/Appointment/{made['id']}", OTHER_CLINIC).status_code == 404
    taken = changed(centre, made, OTHER_CLINIC, status="cancelled")
    assert taken.status_code == 404
    assert current(centre, f"Appointment/{made['id']}", CLINIC)["status"] == "booked"
    # A booked slot is not booked twice, even by the same clinic.
    twice = book(centre, members[0], order(centre))
    assert twice.status_code == 409
    assert "already booked" in outcome(twice)
    # The hospital's own share is not for members; nobody outside the alliance books.
    own_share = book(centre, hospital[0], order(centre))
    assert own_share.status_code == 403
    assert "share reserved for members" in outcome(own_share)
    outsider = call(centre, "POST", "/Appointment", OUTSIDER, body=appointment(members[1], request))
    assert outsider.status_code == 403
    assert "only members" in outcome(outsider)
    # A clinic books for its own orders only (another's it does not even see), and publishes
    # nothing.
    foreign = book(centre, members[1], order(centre, OTHER_CLINIC))
    assert foreign.status_code == 422
    assert "is not known" in foreign.text
    schedule = {
        "resourceType": "Schedule",
        "actor": [{"reference": "HealthcareService/jhzx-imaging"}],
    }
    assert call(centre, "POST", "/Schedule", CLINIC, body=schedule).status_code == 403
    # The lead hospital cannot free a booked slot behind the appointment's back.
    slot = current(centre, f"Slot/{members[0]['id']}")
    freed = call(centre, "PUT", f"/Slot/{slot['id']}", LEAD, body=slot | {"status": "free"})
    assert freed.status_code == 409
    with transaction(centre.node.platform.sessions) as session:
        assert session.scalar(select(func.count()).select_from(SlotBooking)) > 0


@pytest.fixture(params=["sqlite", "postgresql"])
def racing(
    request: pytest.FixtureRequest, centre: Gateway, tmp_path: Path, demo_sqlite: Path
) -> Iterator[Gateway]:
    if request.param == "sqlite":
        yield centre
        return
    url = new_postgres_database(request.getfixturevalue("postgres_server"))
    with start_gateway(tmp_path, demo_sqlite, database_url=url) as gateway:
        yield gateway


def test_twenty_clinics_booking_the_last_slot_at_once_one_wins(racing: Gateway):
    [slot] = publish(racing, 1, day=7)
    clinics = ["his-tx-wsy", "his-cz-sq", "his-cd-sq", "his-blq-wsy", "his-fc-wsy"]
    attempts = [(who, order(racing, who)) for who in clinics * 4]
    for who, _ in attempts:
        racing.token(who)  # tokens first: the race is between the bookings

    with ThreadPoolExecutor(len(attempts)) as pool:
        answers = list(pool.map(lambda a: book(racing, slot, a[1], a[0]), attempts))

    codes = sorted(a.status_code for a in answers)
    assert codes == [201] + [409] * 19, [a.text for a in answers if a.status_code not in (201, 409)]
    assert all("already booked" in outcome(a) for a in answers if a.status_code == 409)
    assert current(racing, f"Slot/{slot['id']}")["status"] == "busy"
    booked = call(racing, "GET", f"/Appointment?slot=Slot/{slot['id']}", LEAD).json()
    assert len(booked.get("entry", [])) == 1
    with transaction(racing.node.platform.sessions) as session:
        held = session.scalars(select(SlotBooking).where(SlotBooking.slot_id == slot["id"])).all()
    [winner] = [a.json() for a in answers if a.status_code == 201]
    assert [h.appointment_id for h in held] == [winner["id"]]
