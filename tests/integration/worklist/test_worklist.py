"""Modality Worklist: a township clinic's CT asks the node for its scheduled exams with DCMTK's
``findscu -W``, as a real modality does, and sees the orders its clinic's HIS placed, with the
patient's name in pinyin and characters; another clinic's modality does not see them, an
unregistered one is turned away, and dates match as ranges."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from pydicom.dataset import Dataset
from pynetdicom import AE
from pynetdicom.sop_class import ModalityWorklistInformationFind

from tests.integration.dicom.conftest import NODE_AE, OTHER_CLINIC_AE
from tests.integration.dicomweb.conftest import Gateway, start_gateway
from tests.integration.fhir.test_rest import call
from tests.integration.worklist.orders import (
    STEP,
    accession,
    findscu_worklist,
    place_order,
    place_orders,
)


def test_the_ct_sees_its_clinics_order_with_the_chinese_name(gateway: Gateway, tmp_path: Path):
    order = place_order(gateway)
    number = accession(order)
    code, answers = findscu_worklist(
        gateway, tmp_path, f"{STEP}.Modality=CT", f"{STEP}.ScheduledProcedureStepStartDate=20261202"
    )
    assert code == 0
    [item] = answers
    assert item.SpecificCharacterSet == "ISO_IR 192"
    assert str(item.PatientName) == "Zhang^SanFeng=张^三丰"
    assert item.PatientName.ideographic == "张^三丰"
    assert (item.PatientID, item.PatientSex, item.PatientBirthDate) == ("TX000777", "M", "19580409")
    assert item.AccessionNumber == number == item.RequestedProcedureID
    assert item.RequestedProcedureDescription == "头颅CT平扫"
    assert str(item.ReferringPhysicianName) == "Li^Si=李^四"
    [step] = item.ScheduledProcedureStepSequence
    assert (step.Modality, step.ScheduledStationAETitle) == ("CT", "TX_CT1")
    assert (step.ScheduledProcedureStepStartDate, step.ScheduledProcedureStepStartTime) == (
        "20261202",
        "093000",
    )
    assert step.ScheduledProcedureStepID == number
    # The study UID is made once: the modality gets the same one every time it asks.
    _, again = findscu_worklist(gateway, tmp_path, f"AccessionNumber={number}")
    assert [a.StudyInstanceUID for a in again] == [item.StudyInstanceUID]
    assert item.StudyInstanceUID.startswith("2.25.")
    # Names match in pinyin or characters, with wildcards, case aside.
    for name in ("zhang*", "张*", "张三丰", "Zhang^SanFeng", "*=张^三丰"):
        assert len(findscu_worklist(gateway, tmp_path, f"PatientName={name}")[1]) == 1, name
    assert findscu_worklist(gateway, tmp_path, "PatientName=王*")[1] == []
    assert findscu_worklist(gateway, tmp_path, f"{STEP}.Modality=MR")[1] == []


def test_another_clinic_sees_nothing_and_an_unknown_ae_is_turned_away(
    gateway: Gateway, tmp_path: Path
):
    place_order(gateway)
    assert len(findscu_worklist(gateway, tmp_path)[1]) == 1
    code, answers = findscu_worklist(gateway, tmp_path, calling=OTHER_CLINIC_AE)
    assert (code, answers) == (0, [])
    code, answers = findscu_worklist(gateway, tmp_path, calling="ROGUE_CT")
    assert code != 0
    assert answers == []


def test_scheduled_dates_and_times_match_as_ranges(gateway: Gateway, tmp_path: Path):
    place_order(gateway, "2026-12-02T09:30:00+08:00")
    place_order(gateway, "2026-12-05T01:30:00Z")  # 09:30 in Beijing
    date = f"{STEP}.ScheduledProcedureStepStartDate"
    time = f"{STEP}.ScheduledProcedureStepStartTime"
    cases = {
        "20261202": 1,
        "20261201": 0,
        "20261201-20261203": 1,
        "20261203-": 1,
        "-20261205": 2,
        "20261206-": 0,
    }
    for value, count in cases.items():
        assert len(findscu_worklist(gateway, tmp_path, f"{date}={value}")[1]) == count, value
    [late] = findscu_worklist(gateway, tmp_path, f"{date}=20261205")[1]
    assert late.ScheduledProcedureStepSequence[0].ScheduledProcedureStepStartTime == "093000"
    assert len(findscu_worklist(gateway, tmp_path, f"{time}=0900-1000")[1]) == 2
    assert len(findscu_worklist(gateway, tmp_path, f"{time}=1000-")[1]) == 0


def test_a_cancelled_order_leaves_the_worklist_and_bad_queries_get_failure_statuses(
    gateway: Gateway, tmp_path: Path
):
    order = place_order(gateway)
    revoked = {k: v for k, v in order.items() if k != "meta"} | {"status": "revoked"}
    put = call(gateway, "PUT", f"/ServiceRequest/{order['id']}", "his-tx-wsy", body=revoked)
    assert put.is_success
    assert findscu_worklist(gateway, tmp_path)[1] == []

    ae = AE("TX_CT1")
    ae.add_requested_context(ModalityWorklistInformationFind)
    assoc = ae.associate("127.0.0.1", gateway.node.port, ae_title=NODE_AE)
    assert assoc.is_established
    try:
        with pytest.warns(UserWarning, match="VR DA"):
            unreadable = _query(date="2026-12-02")  # not YYYYMMDD
        two_steps = _query(date="20261202")
        two_steps.ScheduledProcedureStepSequence.append(Dataset())
        statuses = [
            [s.Status for s, _ in assoc.send_c_find(q, ModalityWorklistInformationFind)]
            for q in (unreadable, two_steps)
        ]
        assert statuses == [[0xC000], [0xA900]]
        # The association is still good for the next query.
        [(status, _)] = assoc.send_c_find(_query("20261202"), ModalityWorklistInformationFind)
        assert status.Status == 0x0000
    finally:
        assoc.release()


def _query(date: str) -> Dataset:
    step = Dataset()
    step.ScheduledProcedureStepStartDate = date
    step.Modality = ""
    query = Dataset()
    query.PatientName = ""
    query.AccessionNumber = ""
    query.ScheduledProcedureStepSequence = [step]
    return query


def test_no_item_goes_out_before_the_access_is_recorded(
    demo_sqlite: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """The audit log cannot commit (another writer holds SQLite's lock past the 1 s wait): the
    modality gets 0xA700 and not one item; once the lock is gone it gets its order."""
    monkeypatch.setenv("YILIAN_DATABASE_LOCK_WAIT_SECONDS", "1")
    with start_gateway(tmp_path, demo_sqlite) as gateway:
        place_order(gateway)
        ae = AE("TX_CT1")
        ae.add_requested_context(ModalityWorklistInformationFind)
        assoc = ae.associate("127.0.0.1", gateway.node.port, ae_title=NODE_AE)
        assert assoc.is_established

        def ask() -> list[tuple[int, Dataset | None]]:
            found = assoc.send_c_find(_query("20261202"), ModalityWorklistInformationFind)
            return [(status.Status, item) for status, item in found]

        try:
            assert [status for status, _ in ask()] == [0xFF00, 0x0000]  # its study UID made
            locker = sqlite3.connect(tmp_path / "yilian.db")
            locker.execute("BEGIN EXCLUSIVE")
            try:
                refused = ask()
            finally:
                locker.rollback()
                locker.close()
            assert refused == [(0xA700, None)]
            assert [status for status, _ in ask()] == [0xFF00, 0x0000]
        finally:
            assoc.release()


def test_a_modality_that_cancels_gets_no_more_items(gateway: Gateway):
    """C-CANCEL after the first item: the list stops there with Cancel (0xFE00)."""
    placed = 40
    place_orders(gateway, placed)
    ae = AE("TX_CT1")
    ae.add_requested_context(ModalityWorklistInformationFind)
    assoc = ae.associate("127.0.0.1", gateway.node.port, ae_title=NODE_AE)
    assert assoc.is_established
    try:
        [context] = assoc.accepted_contexts
        statuses = []
        for status, _ in assoc.send_c_find(
            _query("20261202"), ModalityWorklistInformationFind, msg_id=7
        ):
            if not statuses:
                assoc.send_c_cancel(7, context.context_id)
            statuses.append(status.Status)
        assert statuses[-1] == 0xFE00
        assert 1 <= statuses.count(0xFF00) < placed
        # The association is still good for the next query, which lists them all.
        found = assoc.send_c_find(_query("20261202"), ModalityWorklistInformationFind)
        assert [status.Status for status, _ in found].count(0xFF00) == placed
    finally:
        assoc.release()
