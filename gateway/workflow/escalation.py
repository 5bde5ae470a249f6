"""Missed due times escalate (超时上报), once each:

- overdue reading: when a reading Task is due (``reading.due``, enqueued with the Task for its
  due time) and its report is not signed, the centre's head (负责人) is told by a
  ``Communication`` about the Task, the Task carries a note the worklist shows, and the
  milestones keep the time (a stat ECG's clock starts when its recording arrives:
  :mod:`gateway.workflow.ecg_reading`);
- an unanswered green channel (绿色通道): when an urgent upward referral is due for acceptance
  (``referral.due``) and its receiver has neither accepted nor declined it, the receiving
  organization and its heads are told the same way, the referral Task carries the note, and
  ``referral_steps`` keeps the time."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from gateway.fhir.storing import store, store_valid
from gateway.workflow import ecg_reading, reading, referrals
from storage.clinical import reading_milestones, referral_steps
from storage.db import transaction
from storage.fhir import instant, new_id
from storage.platform import Platform
from storage.registry import heads_of


def on_due(platform: Platform, payload: dict[str, Any]) -> None:
    """Worker handler for ``reading.due``."""
    now = datetime.now(UTC)
    with transaction(platform.sessions) as session:
        row = reading_milestones.milestones(session, payload["task"])
        if row is None or row.finished_at is not None or row.escalated_at is not None:
            return
        if row.due_at > now:
            return  # the due time moved later; its own event will come
        work = reading.load(session, row.task_id)
        if ecg_reading.awaits_recording(work):
            return  # its clock starts when the recording arrives, with its own event
        late = int((now - row.due_at).total_seconds() // 60)
        text = (
            f"远程诊断超时未完成（{_state(work)}，应于{instant(row.due_at)}前完成，已超{late}分钟）"
        )
        sender = {"reference": f"HealthcareService/{work.centre.id}"}
        _tell_heads(session, work.content, work.centre.org_id, sender, text, now)
        store(session, work.content, work.task.owner_org_id)
        reading_milestones.stamp(session, row.task_id, "escalated", now)


def on_referral_due(platform: Platform, payload: dict[str, Any]) -> None:
    """Worker handler for ``referral.due``: the green channel's acceptance time passed."""
    now = datetime.now(UTC)
    with transaction(platform.sessions) as session:
        row = referral_steps.steps_of(session, payload["task"])
        if row is None or row.accept_due_at is None or row.escalated_at is not None:
            return
        if row.accepted_at or row.declined_at or row.cancelled_at or row.accept_due_at > now:
            return
        work = referrals.load(session, row.task_id)
        late = int((now - row.accept_due_at).total_seconds() // 60)
        text = f"绿色通道转诊超时未接收（应于{instant(row.accept_due_at)}前接收，已超{late}分钟）"
        sender = {"reference": f"Organization/{row.receiver_org_id}"}
        _tell_heads(session, work.content, row.receiver_org_id, sender, text, now)
        referrals.save(session, work)
        referral_steps.stamp(session, row.task_id, "escalated", now, None)


def _tell_heads(
    session: Session,
    task: dict[str, Any],
    org_id: str,
    sender: dict[str, Any],
    text: str,
    now: datetime,
) -> None:
    """A ``Communication`` about the Task to ``org_id`` and its heads, and the Task's note
    (``task`` is changed; the caller keeps it)."""
    heads = heads_of(session, org_id)
    message = {
        "resourceType": "Communication", "id": new_id(), "status": "completed",
        "category": [{"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/communication-category",
            "code": "alert"}], "text": "超时上报"}],
        "priority": "urgent",
        "subject": task["for"],
        "about": [{"reference": f"Task/{task['id']}"}],
        "sent": instant(now),
        "sender": sender,
        "recipient": [{"reference": f"Organization/{org_id}"}] + [
            {"reference": f"Practitioner/{head.username}", "display": head.display_name}
            for head in heads],
        "payload": [{"contentString": text}],
    }  # fmt: skip
    store_valid(session, message, org_id)
    task["note"] = [*task.get("note", []), {"time": instant(now), "text": f"超时上报：{text}"}]


def _state(work: reading.Work) -> str:
    return reading.STATES.get(work.state, ("", work.state))[1]
