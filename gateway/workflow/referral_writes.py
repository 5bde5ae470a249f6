"""A plain FHIR write of a referral Task goes through the same steps as the operations
(:mod:`gateway.workflow.referrals`): a ``PUT`` that moves the Task is read as the step it means
— ``status`` accepted (or ``businessStatus`` accepted) accepts, rejected declines with its
``statusReason``, in-progress records the patient's arrival, completed completes with the
``output`` summary — and done by the rules; a note is stored as written; anything else is
refused.  Called by ``gateway.fhir.interactions`` for every create and update of a Task."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from gateway.auth.tokens import Requester
from gateway.errors import Conflict, Forbidden
from gateway.workflow import referrals
from gateway.workflow.task_steps import wanted_state
from storage.fhir import StoredResource

# Task.status a client may write -> the step it means
MEANT = {"accepted": "accepted", "rejected": "declined", "in-progress": "arrived",
         "completed": "completed"}  # fmt: skip
FREE = {"note", "meta", "lastModified"}
# Elements a step sets itself (from what the client sent, where it says something).
STEPPED = {"status", "businessStatus", "statusReason", "output", "executionPeriod"}


def governed_write(
    session: Session,
    requester: Requester,
    resource: dict[str, Any],
    current: StoredResource | None,
) -> StoredResource | None:
    """The stored Task when the referral rules carried the write out; None to store it as
    usual (a note, or a Task that is not a referral's)."""
    was = current.content if current is not None and not current.deleted else None
    if not referrals.is_referral_task(was):
        if referrals.is_referral_task(resource):
            raise Forbidden("referral tasks are made by the server from referrals (ServiceRequest)")
        return None
    assert current is not None
    work = referrals.load(session, current.id)
    old = {k: v for k, v in work.content.items() if k not in FREE}
    new = {k: v for k, v in resource.items() if k not in FREE}
    if old == new:
        referrals.receiving(requester, work)  # a note is the receiver's too
        return None
    wanted = wanted_state(resource, work.state, referrals.STATUS, MEANT)
    changed = {k for k in old.keys() | new.keys() if old.get(k) != new.get(k)}
    if wanted == work.state or changed - STEPPED:
        raise Conflict(
            "a referral task changes only by its steps: $accept, $decline, $arrive, $complete "
            "(or the same as a Task update of status / businessStatus)"
        )
    work.content["note"] = resource.get("note", work.content.get("note", []))
    _perform(session, requester, work, wanted, resource)
    return referrals.save(session, work)


def _perform(
    session: Session, requester: Requester, work: referrals.Work, wanted: str, sent: dict[str, Any]
) -> None:
    if wanted == "accepted":
        referrals.accept(session, requester, work)
    elif wanted == "declined":
        reason = sent.get("statusReason") or {}
        referrals.decline(session, requester, work, str(reason.get("text", "")))
    elif wanted == "arrived":
        referrals.arrive(session, requester, work)
    elif wanted == "completed":
        outputs = sent.get("output") or [{}]
        summary = outputs[0].get("valueReference") if isinstance(outputs[0], dict) else None
        referrals.complete(session, requester, work, summary=summary)
    else:
        referrals.receiving(requester, work)
        raise Conflict(f"a referral task does not go from {work.state} to {wanted}")
