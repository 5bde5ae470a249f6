"""A booked exam on the modality worklist: once the clinic books a slot of the lead hospital's
CT for its order, the worklist item's scheduled step starts at the booked time, and moves with
a rescheduling."""

from __future__ import annotations

from pathlib import Path

from tests.integration.dicomweb.conftest import Gateway
from tests.integration.fhir.booking import appointment, changed, publish
from tests.integration.fhir.test_rest import call
from tests.integration.worklist.orders import accession, findscu_worklist, place_order


def scheduled(gateway: Gateway, out: Path, number: str) -> tuple[str, str]:
    code, answers = findscu_worklist(gateway, out, f"AccessionNumber={number}")
    assert code == 0
    [item] = answers
    [step] = item.ScheduledProcedureStepSequence
    return step.ScheduledProcedureStepStartDate, step.ScheduledProcedureStepStartTime


def test_the_worklist_shows_the_booked_time(gateway: Gateway, tmp_path: Path):
    order = place_order(gateway)  # asked for 2026-12-02 09:30
    number = accession(order)
    assert scheduled(gateway, tmp_path, number) == ("20261202", "093000")
    first, second = publish(gateway, 2, day=2)  # 08:00 and 08:15, Beijing time

    booked = call(gateway, "POST", "/Appointment", body=appointment(second, order))

    assert booked.status_code == 201, booked.text
    day = second["start"][:10].replace("-", "")
    assert scheduled(gateway, tmp_path, number) == (day, "081500")
    moved = changed(gateway, booked.json(), slot=[{"reference": f"Slot/{first['id']}"}])
    assert moved.status_code == 200, moved.text
    assert scheduled(gateway, tmp_path, number) == (day, "080000")
