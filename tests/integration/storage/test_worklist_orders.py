"""The worklist's orders on both databases: narrowed by day, accession, patient and modality
through the FHIR index; an order whose Task is over or whose exam completed leaves the list;
each order's Study Instance UID is made once; an MPPS step and its Procedure are kept
together, and a final step cannot change."""

from __future__ import annotations

from datetime import datetime

import pytest

from fhir_profiles.search_values import extract
from storage import import_alliance_file, transaction
from storage.fhir import (
    DuplicateStep,
    FinalStep,
    Narrowing,
    index_rows,
    new_id,
    order_by_accession,
    performed_step,
    scheduled_orders,
    set_step,
    start_step,
)
from storage.fhir import store as fhir_store
from storage.fhir.worklist import _narrowing
from storage.policy import fhir_viewer
from tests.conftest import DEMO_ALLIANCE

IMAGING = ("http://yilian.example/fhir/CodeSystem/exam-category", "imaging")
DCM = "http://dicom.nema.org/resources/ontology/DCM"


def _put(session, resource: dict, org: str = "tx-wsy") -> dict:
    fhir_store.put(session, resource, org, index=index_rows(resource, extract(resource)))
    return resource


def _order(session, number: str, when: str, modality: str = "CT") -> dict:
    patient = _put(session, {
        "resourceType": "Patient", "id": new_id(), "name": [{"text": "张三丰"}],
        "identifier": [{"system": "urn:yilian:patient-id:tx-wsy", "value": f"P-{number}"}],
    })  # fmt: skip
    return _put(session, {
        "resourceType": "ServiceRequest", "id": new_id(), "status": "active", "intent": "order",
        "identifier": [{"type": {"coding": [{"code": "ACSN"}]}, "value": number}],
        "category": [{"coding": [{"system": IMAGING[0], "code": IMAGING[1]}]}],
        "code": {"coding": [{"system": DCM, "code": modality}]},
        "subject": {"reference": f"Patient/{patient['id']}"},
        "occurrenceDateTime": when,
    })  # fmt: skip


def _found(session, narrowing: Narrowing, org: str = "tx-wsy") -> list[str]:
    viewer = fhir_viewer(session, org)
    return [o.accession or "" for o in scheduled_orders(session, viewer, IMAGING, narrowing,
                                                        limit=100)]  # fmt: skip


@pytest.fixture
def orders(sessions):
    import_alliance_file(sessions, DEMO_ALLIANCE)
    with transaction(sessions) as session:
        made = {
            "A1": _order(session, "A1", "2026-12-02T09:00:00+08:00"),
            "A2": _order(session, "A2", "2026-12-02T23:30:00+08:00", "DX"),  # 15:30 UTC
            "A3": _order(session, "A3", "2026-12-03T08:00:00+08:00"),
        }
    return made


def test_orders_are_narrowed_by_the_index(sessions, orders):
    day = Narrowing(datetime(2026, 12, 1, 16), datetime(2026, 12, 2, 15, 59, 59))
    with transaction(sessions) as session:
        assert _found(session, Narrowing()) == ["A1", "A2", "A3"]
        assert _found(session, day) == ["A1", "A2"]
        assert _found(session, Narrowing(modalities=("DX",))) == ["A2"]
        assert _found(session, Narrowing(accessions=("A3",))) == ["A3"]
        assert _found(session, Narrowing(patient_ids=("P-A1",))) == ["A1"]
        assert _found(session, Narrowing(accessions=("NONE",))) == []
        assert _found(session, Narrowing(), org="blq-wsy") == []  # another clinic's
        # narrowings together: the first drives, the others check; the same shape asked
        # again with other values finds those
        assert _found(session, Narrowing(day.start, day.end, modalities=("CT",))) == ["A1"]
        assert _found(session, Narrowing(day.start, day.end, accessions=("A2", "A3"))) == ["A2"]
        assert _found(session, Narrowing(day.start, day.end, accessions=("A3",))) == []
        assert _found(session, Narrowing(accessions=("A1", "A3"), modalities=("CT",))) == [
            "A1",
            "A3",
        ]
        assert _found(session, Narrowing(patient_ids=("P-A2",), modalities=("CT",))) == []
        assert _found(session, Narrowing(patient_ids=("P-A3",), modalities=("CT",))) == ["A3"]


def test_a_day_is_one_range_of_the_date_index(sessions, orders):
    """Not a walk over every order scheduled after the day (SQLite's planner, without
    statistics for an index, took it for a selective one)."""
    with transaction(sessions) as session:
        if session.get_bind().dialect.name != "sqlite":
            pytest.skip("SQLite's planner")
        window = _narrowing("window").params(
            low="2026-12-01T16:00:00", high="2026-12-02T15:59:59", earliest="2026-11-30T16:00:00"
        )
        sql = window.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
        plan = [row[3] for row in session.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")]
        searches = [step for step in plan if step.startswith("SEARCH")]
        assert searches, plan
        assert all("ix_fhir_index_date_low" in step for step in searches), plan


def test_a_finished_task_or_a_completed_exam_takes_an_order_off(sessions, orders):
    with transaction(sessions) as session:
        for number, kind, status in (("A1", "Task", "cancelled"), ("A2", "Procedure", "completed")):
            based_on = [{"reference": f"ServiceRequest/{orders[number]['id']}"}]
            resource = {"resourceType": kind, "id": new_id(), "status": status,
                        "basedOn": based_on, "subject": orders[number]["subject"]}  # fmt: skip
            if kind == "Task":
                resource["intent"] = "order"
            _put(session, resource, "jhzx")
    with transaction(sessions) as session:
        assert _found(session, Narrowing()) == ["A3"]


def test_a_study_uid_is_made_once_per_order(sessions, orders):
    with transaction(sessions) as session:
        viewer = fhir_viewer(session, "tx-wsy")
        first = {o.accession: o.study_uid for o in
                 scheduled_orders(session, viewer, IMAGING, Narrowing(), limit=100)}  # fmt: skip
    with transaction(sessions) as session:
        again = {o.accession: o.study_uid for o in
                 scheduled_orders(session, viewer, IMAGING, Narrowing(), limit=100)}  # fmt: skip
    assert first == again
    assert len(set(first.values())) == 3


def test_a_step_and_its_procedure_are_kept_together(sessions, orders):
    with transaction(sessions) as session:
        viewer = fhir_viewer(session, "tx-wsy")
        order = order_by_accession(session, viewer, "A1")
        assert order is not None
        assert order.id == orders["A1"]["id"]
        procedure = {"resourceType": "Procedure", "id": new_id(), "status": "in-progress",
                     "subject": orders["A1"]["subject"],
                     "basedOn": [{"reference": f"ServiceRequest/{order.id}"}]}  # fmt: skip
        start_step(session, "1.2.3", "tx-wsy", "TX_CT1", procedure, index_rows(procedure, []))
    with pytest.raises(DuplicateStep), transaction(sessions) as session:
        start_step(session, "1.2.3", "tx-wsy", "TX_CT1", procedure, index_rows(procedure, []))
    with transaction(sessions) as session:
        step = performed_step(session, "1.2.3")
        assert step is not None
        assert step.status == "IN PROGRESS"
        done = {**procedure, "status": "completed"}
        set_step(session, step, "COMPLETED", done, index_rows(done, extract(done)))
    with transaction(sessions) as session:
        step = performed_step(session, "1.2.3")
    assert step is not None
    assert step.procedure.content["status"] == "completed"
    with pytest.raises(FinalStep), transaction(sessions) as session:
        set_step(session, step, "DISCONTINUED", procedure, index_rows(procedure, []))
