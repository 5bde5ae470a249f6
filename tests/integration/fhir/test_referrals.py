"""Two-way referral (双向转诊), enforced by the server whichever way a client asks: a township
clinic refers a patient up with two reports attached, the lead hospital accepts within the green
channel's time, the patient arrives, the discharge summary comes back; a downward referral
carries the follow-up plan to the clinic; a missed acceptance escalates once; another clinic
sees none of it; a forbidden step gets its 4xx OperationOutcome and changes nothing."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from gateway.workflow.referral_intake import DUE_TOPIC
from storage.clinical.referral_steps import referral_figures
from storage.db import transaction
from storage.models import Alliance, AuditRecord, OutboxEvent, ReferralSteps
from tests.integration.dicomweb.conftest import Gateway, start_gateway
from tests.integration.fhir.referral_setup import (
    CLINIC,
    LEAD,
    created,
    patient,
    refer,
    referral,
    reports,
)
from tests.integration.fhir.test_reading import parameters, told_about
from tests.integration.fhir.test_rest import call
from tests.servers import drain_outbox

OTHER = "his-cz-sq"  # 城中社区: another clinic of the alliance


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, demo_sqlite: Path) -> Iterator[Gateway]:
    with start_gateway(tmp_path_factory.mktemp("referrals"), demo_sqlite) as running:
        yield running


def step(gateway: Gateway, task: dict, code: str, who: str, **values: object):
    return call(gateway, "POST", f"/Task/{task['id']}/${code}", who, body=parameters(**values))


def state(task: dict) -> tuple[str, str]:
    return task["status"], task["businessStatus"]["coding"][0]["code"]


def seen(gateway: Gateway, reference: str, who: str) -> int:
    return call(gateway, "GET", f"/{reference}", who).status_code


def box(gateway: Gateway, who: str, which: str) -> dict[str, dict]:
    answer = call(gateway, "GET", f"/ServiceRequest/$referrals?box={which}", who)
    assert answer.status_code == 200, answer.text
    return {entry["id"]: entry for entry in answer.json()["referrals"]}


def steps_row(gateway: Gateway, task_id: str) -> ReferralSteps:
    with transaction(gateway.node.platform.sessions) as session:
        row = session.get(ReferralSteps, task_id)
        assert row is not None
        session.expunge(row)
        return row


def test_a_clinic_refers_up_the_lead_hospital_accepts_and_sends_the_summary_back(
    gateway: Gateway,
):
    person = patient(gateway)
    [number] = [i["value"] for i in person["identifier"] if "10011.1.3" in i["system"]]
    own = patient(gateway, LEAD, number)  # the lead hospital's own record of the same person
    lab, xray = reports(gateway, person)
    placed, task = refer(gateway, referral(person, "jhzx", documents=[lab, xray]))
    assert state(task) == ("requested", "received")
    assert task["owner"]["reference"] == "Organization/jhzx"
    assert task["for"] == placed["subject"]
    assert task["input"][0]["valueReference"] == {"reference": f"Patient/{own['id']}"}
    due = datetime.fromisoformat(task["restriction"]["period"]["end"])
    assert timedelta(minutes=29) < due - datetime.now(UTC) <= timedelta(minutes=30)  # 绿色通道

    # The receiver sees the referral, its Task, the patient, both reports and the lab result.
    result = lab["result"][0]["reference"]
    shared = [f"ServiceRequest/{placed['id']}", f"Task/{task['id']}", f"Patient/{person['id']}",
              f"DiagnosticReport/{lab['id']}", f"DiagnosticReport/{xray['id']}",
              result]  # fmt: skip
    assert [seen(gateway, r, "lihua") for r in shared] == [200] * 6
    # Another clinic sees none of it, by read or by search.
    assert [seen(gateway, r, OTHER) for r in shared] == [404] * 6
    hidden = call(gateway, "GET", f"/Task?based-on=ServiceRequest/{placed['id']}", OTHER).json()
    assert hidden.get("entry", []) == []
    assert placed["id"] not in box(gateway, OTHER, "in") | box(gateway, OTHER, "out")

    accepted = step(gateway, task, "accept", "lihua", note="请直接送心内科导管室")
    assert accepted.status_code == 200, accepted.text
    assert state(accepted.json()) == ("accepted", "accepted")
    arrival = accepted.json() | {"status": "in-progress"}  # the HIS: a plain FHIR update
    arrived = call(gateway, "PUT", f"/Task/{task['id']}", LEAD, body=arrival)
    assert arrived.status_code == 200, arrived.text
    assert state(arrived.json()) == ("in-progress", "arrived")
    done = step(gateway, task, "complete", "lihua", text="急诊PCI术后，病情稳定出院。")
    assert done.status_code == 200, done.text
    assert state(done.json()) == ("completed", "completed")
    summary = done.json()["output"][0]["valueReference"]["reference"]
    document = call(gateway, "GET", f"/{summary}", "jianghua").json()  # the referrer reads it
    text = base64.b64decode(document["content"][0]["attachment"]["data"]).decode()
    assert text == "急诊PCI术后，病情稳定出院。"
    assert seen(gateway, summary, "fengxia") == 404  # 城中社区's doctor

    # Both sides see every step's time.
    sent, received = box(gateway, CLINIC, "out")[placed["id"]], box(gateway, "lihua", "in")
    assert sent["steps"] == received[placed["id"]]["steps"]
    assert list(sent["steps"]) == ["referred", "accepted", "arrived", "completed"]
    assert sent["steps"]["accepted"]["by"] == "lihua"
    assert sent["steps"]["arrived"]["by"] == LEAD
    assert [d["title"] for d in sent["documents"]] == ["心肌标志物", "胸部正位片"]
    assert sent["summary"][0]["reference"] == summary
    assert sent["patient"]["id"] == person["id"]
    assert (sent["actions"], received[placed["id"]]["actions"]) == ([], [])
    with transaction(gateway.node.platform.sessions) as session:
        records = session.scalars(select(AuditRecord).where(AuditRecord.actor_org_id == "jhzx"))
        actions = {r.action for r in records if r.entities.get("id") == task["id"]}
        assert {"accept", "update", "complete"} <= actions
        now = datetime.now(UTC)
        figures = referral_figures(session, {"tx-wsy"}, now - timedelta(hours=1), now)
    assert figures["up"] >= 1
    assert figures["completed"] >= 1
    assert figures["greenChannelOnTime"] >= 1
    assert figures["acceptanceMinutes"]["count"] >= 1


def test_a_downward_referral_carries_the_follow_up_plan_to_the_clinic(gateway: Gateway):
    person = patient(gateway, LEAD)
    plan = created(gateway, LEAD, {  # the follow-up plan (康复、慢病管理) as a plan-of-care note
        "resourceType": "DocumentReference", "status": "current",
        "type": {"coding": [{"system": "http://loinc.org", "code": "18776-5"}],
                 "text": "随访计划"},
        "subject": {"reference": f"Patient/{person['id']}"},
        "content": [{"attachment": {
            "contentType": "text/plain; charset=utf-8", "title": "PCI术后康复与慢病管理",
            "data": base64.b64encode("每月复查血脂、肝功能；规律服用阿司匹林".encode()).decode()}}],
    })  # fmt: skip
    body = referral(person, "tx-wsy", "down", "routine", [plan], "PCI术后，转基层康复及慢病管理",
                    "全科", "jhzx")  # fmt: skip
    placed, task = refer(gateway, body, LEAD)
    assert "restriction" not in task  # no green channel downward
    assert "input" not in task  # the clinic has no record of him yet
    assert task["owner"]["reference"] == "Organization/tx-wsy"
    follow_up = call(gateway, "GET", f"/DocumentReference/{plan['id']}", "jianghua").json()
    assert follow_up["content"][0]["attachment"]["title"] == "PCI术后康复与慢病管理"
    assert seen(gateway, f"Patient/{person['id']}", "jianghua") == 200
    assert seen(gateway, f"DocumentReference/{plan['id']}", "fengxia") == 404
    [number] = [i["value"] for i in person["identifier"] if "10011.1.3" in i["system"]]
    for code, values in (("accept", {}), ("arrive", {}), ("complete", {"text": "已建档随访"})):
        if code == "arrive":  # the clinic registers him as he comes in
            own = patient(gateway, CLINIC, number)
        moved = step(gateway, task, code, "jianghua", **values)
        assert moved.status_code == 200, moved.text
        if code == "arrive":
            named = moved.json()["input"][0]["valueReference"]
            assert named == {"reference": f"Patient/{own['id']}"}
    assert box(gateway, LEAD, "out")[placed["id"]]["state"] == "completed"
    assert box(gateway, "jianghua", "in")[placed["id"]]["documents"][0]["title"] == (
        "PCI术后康复与慢病管理"
    )
    upside_down = referral(person, "jhzx", "down", referrer="tx-wsy")  # down to the lead hospital
    refused = call(gateway, "POST", "/ServiceRequest", CLINIC, body=upside_down)
    assert refused.status_code == 422
    assert "下转" in refused.json()["issue"][0]["diagnostics"]


def test_a_missed_green_channel_acceptance_escalates_once(gateway: Gateway):
    _, routine = refer(gateway, referral(patient(gateway), "jhzx", priority="routine"))
    assert "restriction" not in routine
    with transaction(gateway.node.platform.sessions) as session:  # the alliance file's time
        session.execute(update(Alliance).values(green_channel_minutes=10))
    try:
        _, task = refer(gateway, referral(patient(gateway), "jhzx", priority="urgent"))
    finally:
        with transaction(gateway.node.platform.sessions) as session:
            session.execute(update(Alliance).values(green_channel_minutes=None))
    due = datetime.fromisoformat(task["restriction"]["period"]["end"])
    assert timedelta(minutes=9) < due - datetime.now(UTC) <= timedelta(minutes=10)
    past = datetime.now(UTC) - timedelta(minutes=5)
    with transaction(gateway.node.platform.sessions) as session:  # 10 minutes went by
        session.execute(update(ReferralSteps).where(ReferralSteps.task_id == task["id"])
                        .values(accept_due_at=past))  # fmt: skip
        session.execute(update(OutboxEvent).where(OutboxEvent.topic == DUE_TOPIC)
                        .values(available_at=past))  # fmt: skip
    drain_outbox(gateway.node.platform)
    [alert] = told_about(gateway, f"Task/{task['id']}", "Organization/jhzx", "lihua")
    assert {"reference": "Practitioner/lihua", "display": "李华"} in alert["recipient"]
    assert "绿色通道转诊超时未接收" in alert["payload"][0]["contentString"]
    noted = call(gateway, "GET", f"/Task/{task['id']}", CLINIC).json()
    assert "超时上报" in noted["note"][-1]["text"]
    assert steps_row(gateway, task["id"]).escalated_at is not None
    assert steps_row(gateway, routine["id"]).escalated_at is None
    drain_outbox(gateway.node.platform)
    assert len(told_about(gateway, f"Task/{task['id']}", "Organization/jhzx", "lihua")) == 1
    assert step(gateway, task, "accept", "lihua").status_code == 200  # late, still accepted


def test_forbidden_steps_are_refused_and_change_nothing(gateway: Gateway):
    placed, task = refer(gateway, referral(patient(gateway), "jhzx"))
    before = call(gateway, "GET", f"/Task/{task['id']}", LEAD).json()

    def refused(answer, status: int, words: str) -> None:
        assert answer.status_code == status, answer.text
        outcome = answer.json()
        assert outcome["resourceType"] == "OperationOutcome"
        assert words in outcome["issue"][0]["diagnostics"]

    refused(step(gateway, task, "accept", "jianghua"), 403, "receiving organization")  # referrer
    refused(step(gateway, task, "accept", "fengxia"), 404, "not known")  # another clinic's doctor
    refused(step(gateway, task, "accept", "wanglei"), 403, "clinician or head")  # a reader
    refused(step(gateway, task, "arrive", "lihua"), 409, "received")  # not accepted yet
    refused(step(gateway, task, "complete", "lihua", text="x"), 409, "received")
    refused(step(gateway, task, "decline", "lihua"), 422, "reason")
    jump = before | {"status": "completed"}
    refused(call(gateway, "PUT", f"/Task/{task['id']}", LEAD, body=jump), 409, "received")
    moved = before | {"owner": {"reference": "Organization/wcrm"}}
    refused(call(gateway, "PUT", f"/Task/{task['id']}", LEAD, body=moved), 409, "only by its steps")
    refused(call(gateway, "PUT", f"/Task/{task['id']}", "jianghua", body=jump), 403, "owns")
    made = {k: v for k, v in before.items() if k not in ("id", "meta")}
    refused(call(gateway, "POST", "/Task", LEAD, body=made), 403, "made by the server")
    refused(call(gateway, "DELETE", f"/Task/{task['id']}", LEAD), 409, "revokes")
    edited = placed | {"performer": [{"reference": "Organization/wcrm"}]}
    refused(call(gateway, "PUT", f"/ServiceRequest/{placed['id']}", CLINIC, body=edited), 409,
            "not edited")  # fmt: skip
    after = call(gateway, "GET", f"/Task/{task['id']}", LEAD).json()
    assert after["meta"]["versionId"] == before["meta"]["versionId"]
    row = steps_row(gateway, task["id"])
    assert (row.accepted_at, row.declined_at, row.arrived_at, row.cancelled_at) == (None,) * 4

    full = "心内科床位已满，建议转婺城区人民医院"
    declined = step(gateway, task, "decline", "lihua", reason=full)
    assert state(declined.json()) == ("rejected", "declined")
    assert declined.json()["statusReason"]["text"].startswith("心内科床位已满")
    refused(step(gateway, task, "accept", "lihua"), 409, "declined")
    revoked = placed | {"status": "revoked"}
    refused(call(gateway, "PUT", f"/ServiceRequest/{placed['id']}", CLINIC, body=revoked), 409,
            "not yet accepted")  # fmt: skip


def test_the_referrer_revokes_a_referral_not_yet_accepted(gateway: Gateway):
    placed, task = refer(gateway, referral(patient(gateway), "jhzx", priority="routine"))
    assert box(gateway, "jianghua", "out")[placed["id"]]["actions"] == ["cancel"]
    revoked = placed | {"status": "revoked"}
    answer = call(gateway, "PUT", f"/ServiceRequest/{placed['id']}", CLINIC, body=revoked)
    assert answer.status_code == 200, answer.text
    cancelled = call(gateway, "GET", f"/Task/{task['id']}", LEAD).json()
    assert state(cancelled) == ("cancelled", "cancelled")
    assert steps_row(gateway, task["id"]).cancelled_by == CLINIC
    assert box(gateway, "lihua", "in")[placed["id"]]["actions"] == []


def test_a_referral_in_a_transaction_bundle_shares_the_patient_written_with_it(gateway: Gateway):
    """Up to 婺城区人民医院 (a district hospital, which sees no clinic's data of its own)."""
    person = "urn:uuid:0b7e2c1a-0000-4000-8000-000000000025"
    body = referral({"id": "x"}, "wcrm", priority="routine", department="呼吸内科")
    body["subject"] = {"reference": person}
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": body, "request": {"method": "POST", "url": "ServiceRequest"}},
        {"fullUrl": person, "request": {"method": "POST", "url": "Patient"}, "resource": {
            "resourceType": "Patient", "name": [{"text": "李四"}], "gender": "female",
            "identifier": [{"system": "urn:oid:2.16.156.10011.1.3",
                            "value": "330702199001011236"}]}},
    ]}  # fmt: skip
    answer = call(gateway, "POST", "", CLINIC, body=bundle)
    assert answer.status_code == 200, answer.text
    placed, patient = (e["response"]["location"].split("/_history")[0]
                       for e in answer.json()["entry"])  # fmt: skip
    task = box(gateway, "sunli", "in")[placed.split("/")[1]]["task"]
    assert seen(gateway, patient, "his-wcrm") == 200
    assert seen(gateway, patient, "fengxia") == 404
    assert step(gateway, {"id": task}, "accept", "sunli").status_code == 200


def test_referral_figures_count_each_way_and_the_acceptance_time(gateway: Gateway):
    """The figures the alliance's indicators are built on, over rows of a known clock."""
    start = datetime(2026, 11, 1, tzinfo=UTC)
    rows = [  # (direction, minutes to accept, booked, green channel met, declined)
        ("up", 10, True, True, False), ("up", 20, False, False, False),
        ("up", None, False, False, True), ("down", 40, False, None, False),
    ]  # fmt: skip
    with transaction(gateway.node.platform.sessions) as session:
        for n, (direction, accepted, booked, met, declined) in enumerate(rows):
            at = start + timedelta(hours=n)
            session.add(ReferralSteps(
                task_id=f"figures-{n}", referral_id=f"figures-sr-{n}", direction=direction,
                priority="urgent", referrer_org_id="sj-sq" if direction == "up" else "jhzx",
                receiver_org_id="jhzx" if direction == "up" else "sj-sq", booked=booked,
                referred_at=at,
                accept_due_at=None if met is None else at + timedelta(minutes=15),
                accepted_at=None if accepted is None else at + timedelta(minutes=accepted),
                declined_at=at + timedelta(minutes=5) if declined else None,
            ))  # fmt: skip
        session.flush()
        figures = referral_figures(session, {"sj-sq"}, start, start + timedelta(days=1))
        session.rollback()
    assert (figures["referrals"], figures["up"], figures["down"]) == (4, 3, 1)
    assert (figures["accepted"], figures["declined"], figures["upBooked"]) == (3, 1, 1)
    assert (figures["greenChannel"], figures["greenChannelOnTime"]) == (3, 1)
    assert figures["acceptanceMinutes"] == {"count": 3, "median": 20.0, "p90": 40.0}
