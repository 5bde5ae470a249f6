"""MPPS: the clinic's CT starts and ends the exam of a scheduled order (pynetdicom as the MPPS
SCU, N-CREATE then N-SET); the exam's FHIR Procedure is found by the order it is based on, with
its state and times; a finished step can no longer change; a malformed one leaves nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid
from pynetdicom import AE
from pynetdicom.association import Association
from pynetdicom.sop_class import ModalityPerformedProcedureStep as MPPS
from sqlalchemy import func, select

from storage import transaction
from storage.models import FhirResourceVersion, PerformedStep
from tests.integration.dicom.conftest import CLINIC_AE, NODE_AE, OTHER_CLINIC_AE
from tests.integration.dicomweb.conftest import Gateway
from tests.integration.fhir.test_rest import call
from tests.integration.worklist.orders import accession, findscu_worklist, place_order


def _associate(gateway: Gateway, calling: str = CLINIC_AE) -> Association:
    ae = AE(calling)
    ae.add_requested_context(MPPS)
    assoc = ae.associate("127.0.0.1", gateway.node.port, ae_title=NODE_AE)
    assert assoc.is_established
    return assoc


def _in_progress(number: str, patient_id: str = "TX000777") -> Dataset:
    scheduled = Dataset()
    scheduled.AccessionNumber = number
    scheduled.StudyInstanceUID = generate_uid()
    scheduled.ScheduledProcedureStepID = number
    data = Dataset()
    data.SpecificCharacterSet = "ISO_IR 192"
    data.ScheduledStepAttributesSequence = [scheduled]
    data.PatientName = "Zhang^SanFeng=张^三丰"
    data.PatientID = patient_id
    data.PerformedStationAETitle = CLINIC_AE
    data.PerformedProcedureStepStartDate = "20261202"
    data.PerformedProcedureStepStartTime = "093512"
    data.PerformedProcedureStepEndDate = ""
    data.PerformedProcedureStepEndTime = ""
    data.PerformedProcedureStepStatus = "IN PROGRESS"
    data.PerformedProcedureStepID = "PPS1"
    data.PerformedProcedureStepDescription = "头颅CT平扫"
    data.Modality = "CT"
    data.PerformedSeriesSequence = []
    return data


def _ended(status: str = "COMPLETED") -> Dataset:
    data = Dataset()
    data.PerformedProcedureStepStatus = status
    data.PerformedProcedureStepEndDate = "20261202"
    data.PerformedProcedureStepEndTime = "094820"
    return data


def _procedures(gateway: Gateway, order: dict) -> list[dict]:
    """As the imaging centre's HIS finds them (what the reading state machine reads)."""
    found = call(gateway, "GET", f"/Procedure?based-on=ServiceRequest/{order['id']}", "his-jhzx")
    assert found.status_code == 200, found.text
    return [entry["resource"] for entry in found.json().get("entry", [])]


def test_an_exam_starts_and_ends_as_its_procedure(gateway: Gateway, tmp_path: Path):
    order = place_order(gateway)
    number = accession(order)
    uid = generate_uid()
    assoc = _associate(gateway)
    try:
        status, _ = assoc.send_n_create(_in_progress(number), MPPS, uid)
        assert status.Status == 0x0000
        [started] = _procedures(gateway, order)
        assert started["status"] == "in-progress"
        assert started["subject"] == order["subject"]
        assert started["performedPeriod"] == {"start": "2026-12-02T09:35:12+08:00"}
        assert started["performer"] == [{"actor": {"reference": "Organization/tx-wsy"}}]
        assert started["identifier"][0]["value"] == f"urn:oid:{uid}"
        # Still on the worklist while the exam goes on.
        assert len(findscu_worklist(gateway, tmp_path, f"AccessionNumber={number}")[1]) == 1

        status, _ = assoc.send_n_set(_ended(), MPPS, uid)
        assert status.Status == 0x0000
        [ended] = _procedures(gateway, order)
        assert ended["id"] == started["id"]
        assert ended["status"] == "completed"
        assert ended["performedPeriod"] == {
            "start": "2026-12-02T09:35:12+08:00",
            "end": "2026-12-02T09:48:20+08:00",
        }
        assert findscu_worklist(gateway, tmp_path, f"AccessionNumber={number}")[1] == []

        # A completed step may no longer be updated: refused, and nothing changes.
        status, _ = assoc.send_n_set(_ended("DISCONTINUED"), MPPS, uid)
        assert (status.Status, status.ErrorID) == (0x0110, 0xA710)
        assert _procedures(gateway, order) == [ended]
        status, _ = assoc.send_n_set(_ended(), MPPS, generate_uid())
        assert status.Status == 0x0112  # no such instance
    finally:
        assoc.release()
    # Another clinic's modality cannot touch it either.
    other = _associate(gateway, OTHER_CLINIC_AE)
    try:
        status, _ = other.send_n_set(_ended("DISCONTINUED"), MPPS, uid)
        assert status.Status == 0x0112
    finally:
        other.release()


def test_a_discontinued_exam_is_not_done_with_its_reason(gateway: Gateway):
    order = place_order(gateway)
    uid = generate_uid()
    reason = Dataset()
    reason.CodeValue = "110514"
    reason.CodingSchemeDesignator = "DCM"
    reason.CodeMeaning = "Incorrect worklist entry selected"
    stopped = _ended("DISCONTINUED")
    stopped.PerformedProcedureStepDiscontinuationReasonCodeSequence = [reason]
    assoc = _associate(gateway)
    try:
        assert assoc.send_n_create(_in_progress(accession(order)), MPPS, uid)[0].Status == 0
        assert assoc.send_n_set(stopped, MPPS, uid)[0].Status == 0
    finally:
        assoc.release()
    [procedure] = _procedures(gateway, order)
    assert procedure["status"] == "not-done"
    assert procedure["statusReason"]["coding"][0]["code"] == "110514"
    assert procedure["statusReason"]["text"] == "Incorrect worklist entry selected"
    assert procedure["performedPeriod"]["end"] == "2026-12-02T09:48:20+08:00"


def test_a_malformed_step_is_refused_and_leaves_nothing(gateway: Gateway):
    number = accession(place_order(gateway))
    without_steps = _in_progress(number)
    del without_steps.ScheduledStepAttributesSequence
    finished_at_once = _in_progress(number)
    finished_at_once.PerformedProcedureStepStatus = "COMPLETED"
    no_start = _in_progress(number)
    no_start.PerformedProcedureStepStartDate = ""
    bad_date = _in_progress(number)
    with pytest.warns(UserWarning, match="VR TM"):
        bad_date.PerformedProcedureStepStartTime = "256199"
    unknown_order = _in_progress("NOSUCHACCESSION")
    unscheduled_stranger = _in_progress("", patient_id="NOBODY")
    cases = [
        (0x0120, without_steps),  # missing attribute
        (0x0106, finished_at_once),  # invalid attribute value
        (0x0121, no_start),  # missing attribute value
        (0x0106, bad_date),
        (0x0110, unknown_order),  # processing failure
        (0x0110, unscheduled_stranger),
    ]
    before = _written(gateway)
    assoc = _associate(gateway)
    try:
        for expected, data in cases:
            assert assoc.send_n_create(data, MPPS, generate_uid())[0].Status == expected
        # The association survives every refusal.
        assert assoc.send_n_create(_in_progress(number), MPPS, generate_uid())[0].Status == 0
    finally:
        assoc.release()
    assert _written(gateway) == (before[0] + 1, before[1] + 1)


def _written(gateway: Gateway) -> tuple[int, int]:
    """Procedure versions and MPPS rows in the database."""
    with transaction(gateway.node.platform.sessions) as session:
        versions = session.scalar(
            select(func.count())
            .select_from(FhirResourceVersion)
            .where(FhirResourceVersion.resource_type == "Procedure")
        )
        steps = session.scalar(select(func.count()).select_from(PerformedStep))
    return int(versions or 0), int(steps or 0)


def test_an_unscheduled_exam_is_recorded_for_the_clinics_patient(gateway: Gateway):
    order = place_order(gateway)  # makes the patient TX000777 known to the clinic
    assoc = _associate(gateway)
    try:
        status, _ = assoc.send_n_create(_in_progress(""), MPPS, generate_uid())
        assert status.Status == 0x0000
    finally:
        assoc.release()
    path = f"/Procedure?subject={order['subject']['reference']}"
    [entry] = call(gateway, "GET", path, "his-jhzx").json()["entry"]
    assert entry["resource"]["status"] == "in-progress"
    assert "basedOn" not in entry["resource"]
    assert _procedures(gateway, order) == []  # not the scheduled order's exam
