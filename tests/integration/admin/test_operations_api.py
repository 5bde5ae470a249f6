"""The operations views: who looked at a patient's data (the access log searched by patient,
user, organization and date), and the outbox's dead events replayed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from storage.db import transaction
from storage.models import OutboxEvent, OutboxState
from storage.outbox import enqueue, fail
from tests.dicom_data import Patient as DicomPatient
from tests.dicom_data import Study, write_series
from tests.integration.admin.conftest import Admin
from tests.integration.dicomweb.conftest import seed
from tests.integration.fhir.test_rest import call


def patient(admin: Admin, name: str) -> str:
    body = {"resourceType": "Patient", "name": [{"text": name}], "gender": "female"}
    created = call(admin.gateway, "POST", "/Patient", "his-tx-wsy", body)
    assert created.status_code == 201, created.text
    return created.json()["id"]


def seen_by(records: list[dict]) -> list[tuple[str, str, str]]:
    return [(r["actor"], r["organization"], r["action"]) for r in records]


def test_who_looked_at_this_patients_data(admin: Admin):
    wang, li = patient(admin, "王芳"), patient(admin, "李娜")
    gateway = admin.gateway
    assert call(gateway, "GET", f"/Patient/{wang}", "his-tx-wsy").status_code == 200
    assert call(gateway, "GET", f"/Patient?_id={wang}", "his-jhzx").status_code == 200
    assert call(gateway, "GET", f"/Patient/{li}", "his-tx-wsy").status_code == 200

    assert seen_by(admin.audit(patient=wang)) == [
        ("his-jhzx", "jhzx", "search-type"),
        ("his-tx-wsy", "tx-wsy", "read"),
        ("his-tx-wsy", "tx-wsy", "create"),
    ]
    # The search itself is in the trail now: who looked at who looked.
    assert seen_by(admin.audit(patient=wang, user="admin")) == [("admin", "jhzx", "audit-search")]
    assert seen_by(admin.audit(patient=wang, organization="tx-wsy")) == [
        ("his-tx-wsy", "tx-wsy", "read"),
        ("his-tx-wsy", "tx-wsy", "create"),
    ]
    today = datetime.now(UTC).astimezone().date()
    tomorrow = (today + timedelta(days=2)).isoformat()
    assert admin.audit(patient=wang, since=tomorrow) == []
    assert len(admin.audit(patient=wang, until=tomorrow, user="his-jhzx")) == 1
    assert seen_by(admin.audit(patient=li, user="his-tx-wsy")) == [
        ("his-tx-wsy", "tx-wsy", "read"),
        ("his-tx-wsy", "tx-wsy", "create"),
    ]
    bad = admin.call("GET", "/audit-records?since=yesterday")
    assert bad.status_code == 400
    assert "is not a date" in bad.json()["detail"]
    # Every search is recorded, with what it asked for.
    searches = [r for r in admin.audit(user="admin") if r["action"] == "audit-search"]
    assert searches[0]["entities"] == {"resource_type": "Patient", "id": li, "user": "his-tx-wsy"}


def test_a_dead_event_is_listed_and_replayed(admin: Admin):
    sessions = admin.gateway.node.platform.sessions
    with transaction(sessions) as session:
        enqueue(session, "admin.test", {"what": "nothing to do"}, delay=timedelta(days=1))
    with transaction(sessions) as session:
        event_id = session.scalar(select(OutboxEvent.id).where(OutboxEvent.topic == "admin.test"))
    fail(sessions, event_id, "the peer refused it", permanent=True)

    [listed] = [e for e in admin.call("GET", "/dead-events").json() if e["id"] == event_id]
    assert (listed["topic"], listed["error"], listed["payload"]) == (
        "admin.test", "the peer refused it", {"what": "nothing to do"},
    )  # fmt: skip
    replayed = admin.call("POST", f"/dead-events/{event_id}/$replay")
    assert replayed.status_code == 202
    with transaction(sessions) as session:
        assert session.get(OutboxEvent, event_id).state != OutboxState.DEAD
    assert event_id not in {e["id"] for e in admin.call("GET", "/dead-events").json()}
    assert admin.call("POST", f"/dead-events/{event_id}/$replay").status_code == 404
    [record] = [r for r in admin.audit(user="admin") if r["action"] == "replay"]
    assert record["entities"] == {"outbox_event": event_id}


def test_who_looked_at_this_patients_images(admin: Admin, tmp_path: Path):
    """The clinic's C-STORE and the lead hospital's WADO-RS of the patient's study are in the
    trail of the Patient carrying the clinic's patient id."""
    gateway = admin.gateway
    clinic_id = {"system": "urn:yilian:patient-id:tx-wsy", "value": "TX0042"}
    body = {"resourceType": "Patient", "name": [{"text": "张三丰"}], "identifier": [clinic_id]}
    zhang = call(gateway, "POST", "/Patient", "his-tx-wsy", body).json()["id"]
    study = Study(patient=DicomPatient(patient_id="TX0042"))
    seed(gateway, *write_series(study, tmp_path / "ct", 1), org="tx-wsy", ae="TX_CT1")
    other = Study(patient=DicomPatient(patient_id="TX0043"))
    seed(gateway, *write_series(other, tmp_path / "other", 1), org="tx-wsy", ae="TX_CT1")
    for uid in (study.study_uid, other.study_uid):
        assert gateway.get(f"/studies/{uid}/metadata", who="his-jhzx").status_code == 200

    trail = admin.audit(patient=zhang)
    assert [(r["actor"], r["entities"].get("study_uid")) for r in trail[:2]] == [
        ("his-jhzx", study.study_uid),
        ("TX_CT1", study.study_uid),
    ]
    assert other.study_uid not in str(trail)
