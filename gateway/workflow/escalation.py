"""Overdue reading escalates (超时上报): when a reading Task is due (``reading.due``, enqueued
with the Task for its due time) and its report is not signed, the centre's head (负责人) is told
by a ``Communication`` about the Task, the Task carries a note the worklist shows, and the
milestones keep the time — once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gateway.fhir.storing import store, store_valid
from gateway.workflow import reading
from storage.clinical import reading_milestones
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
        heads = heads_of(session, work.centre.org_id)
        late = int((now - row.due_at).total_seconds() // 60)
        text = (
            f"远程诊断超时未完成（{_state(work)}，应于{instant(row.due_at)}前完成，已超{late}分钟）"
        )
        message = {
            "resourceType": "Communication", "id": new_id(), "status": "completed",
            "category": [{"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/communication-category",
                "code": "alert"}], "text": "超时上报"}],
            "priority": "urgent",
            "subject": work.content["for"],
            "about": [{"reference": f"Task/{work.task.id}"}],
            "sent": instant(now),
            "sender": {"reference": f"HealthcareService/{work.centre.id}"},
            "recipient": [{"reference": f"Organization/{work.centre.org_id}"}] + [
                {"reference": f"Practitioner/{head.username}", "display": head.display_name}
                for head in heads],
            "payload": [{"contentString": text}],
        }  # fmt: skip
        store_valid(session, message, work.centre.org_id)
        notes = work.content.get("note", [])
        work.content["note"] = [*notes, {"time": instant(now), "text": f"超时上报：{text}"}]
        store(session, work.content, work.task.owner_org_id)
        reading_milestones.stamp(session, row.task_id, "escalated", now)


def _state(work: reading.Work) -> str:
    return reading.STATES.get(work.state, ("", work.state))[1]
