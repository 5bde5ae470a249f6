"""Plain FHIR writes of a reading Task or its report go through the same steps as the
operations (:mod:`gateway.workflow.reading`): a ``PUT`` of the Task that moves it is read as the
step it means (claim, release, submit, verify, send back, return) and done by the rules; a
report written for a reading order is a draft of the Task's owner, or its verification.

:func:`governed_write` is called by ``gateway.fhir.interactions`` for every create and update
of a Task or a DiagnosticReport; it answers None for what the reading rules do not govern.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from gateway.auth.tokens import Requester
from gateway.errors import Conflict, Forbidden, Unprocessable
from gateway.workflow import reading, reading_report
from gateway.workflow.task_steps import wanted_state
from storage.fhir import StoredResource

# Task.status a client may write -> the state it means
MEANT = {"ready": "awaiting-reading", "in-progress": "reading", "completed": "released",
         "rejected": "returned"}  # fmt: skip
# Elements of a reading Task a client may change without a step (a comment).
FREE = {"note", "meta", "lastModified"}
DRAFTS = {"registered", "partial", "preliminary"}


def governed_write(
    session: Session,
    requester: Requester,
    resource: dict[str, Any],
    current: StoredResource | None,
) -> StoredResource | None:
    """The stored result when the reading rules carried the write out; None to store it as
    usual (a draft report, a comment, or what is not about reading)."""
    if resource["resourceType"] == "Task":
        return _task_write(session, requester, resource, current)
    if resource["resourceType"] == "DiagnosticReport":
        return _report_write(session, requester, resource)
    return None


def _task_write(
    session: Session,
    requester: Requester,
    resource: dict[str, Any],
    current: StoredResource | None,
) -> StoredResource | None:
    governed = current is not None and not current.deleted
    if not (governed and reading.is_reading_task(current.content if current else None)):
        if reading.is_reading_task(resource):
            raise Forbidden("reading tasks are made by the server from orders (ServiceRequest)")
        return None
    assert current is not None
    work = reading.load(session, current.id)
    old = {k: v for k, v in work.content.items() if k not in FREE}
    new = {k: v for k, v in resource.items() if k not in FREE}
    if old == new:
        return None  # a comment: stored as written
    wanted = wanted_state(resource, work.state, reading.STATUS, MEANT)
    _perform(session, requester, work, wanted, resource)
    return reading.save(session, work)


def _perform(
    session: Session, requester: Requester, work: reading.Work, wanted: str, sent: dict[str, Any]
) -> None:
    state = work.state
    if (state, wanted) == ("awaiting-reading", "reading"):
        reading.claim(session, requester, work)
    elif (state, wanted) == ("reading", "awaiting-reading"):
        reading.release(session, requester, work)
    elif (state, wanted) == ("reading", "awaiting-verification"):
        reading.submit(session, requester, work, None)
    elif wanted == "released" and state in ("reading", "awaiting-verification"):
        reading.verify(session, requester, work, None)
    elif (state, wanted) == ("awaiting-verification", "reading"):
        added = sent.get("note", [])[len(work.content.get("note", [])) :]
        reading.send_back(session, requester, work, str((added or [{}])[-1].get("text", "")))
    elif wanted == "returned":
        reason = sent.get("statusReason") or {}
        codes = [c.get("code") for c in reason.get("coding", [])
                 if c.get("system") == reading.RETURN_REASON]  # fmt: skip
        text = str(reason.get("text", "")) if codes else ""
        reading.return_to_clinic(session, requester, work, str(codes[0] if codes else ""), text)
    else:
        raise Conflict(
            f"a reading task does not go from {state} to {wanted}; its steps are $claim, "
            "$release, $submit, $verify, $send-back, $return (or the same as a Task update)"
        )


def _report_write(
    session: Session, requester: Requester, resource: dict[str, Any]
) -> StoredResource | None:
    task_id = reading_report.task_answered(session, resource)
    if task_id is None:
        return None
    work = reading.load(session, task_id)
    status = resource.get("status")
    if status in DRAFTS:
        _check_draft(requester, work, resource)
        reading.save(session, work)
        return None
    if status == "final":
        if work.report is None or work.report.id != resource.get("id"):
            raise Conflict("verify the report the task's reader submitted ($submit first)")
        reading.verify(session, requester, work, resource)
        reading.save(session, work)
        return work.report
    raise Unprocessable(
        f"a {status} report of a reading task is written with $amend, which records its reason",
        [],
    )


def _check_draft(requester: Requester, work: reading.Work, resource: dict[str, Any]) -> None:
    """A draft is the owner's, while the task is being read, and the one report of the task."""
    if work.state != "reading" or work.owner_user != requester.subject:
        raise Forbidden("only the reader who claimed the task drafts its report")
    if work.report is not None and work.report.id != resource.get("id"):
        raise Conflict(f"this task's report is DiagnosticReport/{work.report.id}: update that one")
    work.content["output"] = [{
        "type": {"text": "报告"},
        "valueReference": {"reference": f"DiagnosticReport/{resource['id']}"},
    }]  # fmt: skip
