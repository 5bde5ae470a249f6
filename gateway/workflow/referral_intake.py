"""A referral in (转出): the write of a referral ``ServiceRequest`` — REST or a Bundle — is
checked and carried out here, in the writer's transaction (:func:`governed_write`, called by
``gateway.fhir.interactions``):

- an active referral conforms to ``yilian-referral``, goes up (上转) to a member of a higher
  level or down (下转) to one of a lower level, of an alliance both belong to;
- the server makes the receiver's ``Task`` (待接收, owner the receiving Organization), stamps
  it (``referral_steps``), shares the patient and the documents going with it
  (``subject``, ``supportingInfo``, ``reasonReference`` and a shared report's results) with
  the receiver (``storage.policy.share_for_referral``), and for an urgent upward referral sets
  the green channel's acceptance due time (绿色通道: the alliance's ``green_channel_minutes``,
  else :data:`GREEN_CHANNEL_MINUTES`) with a ``referral.due`` event for it;
- the patient is matched across members by 身份证号: the receiver's own Patient carrying the
  same number, when it has one, is named in the Task's ``input`` (接收方患者档案; again at
  arrival: :func:`referrals.name_receivers_patient`);
- a referral that was sent is not edited: the referrer revokes it (``status`` revoked, only
  while the receiver has not accepted it: the Task is cancelled) and refers again; notes may
  be added.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fhir_profiles.validation import validate
from gateway.auth.tokens import Requester
from gateway.errors import Conflict, Unprocessable
from gateway.fhir.storing import store, store_valid
from gateway.workflow import referrals
from storage.clinical import referral_steps
from storage.fhir import StoredResource, instant, new_id
from storage.fhir import store as fhir_store
from storage.models import Alliance, Organization
from storage.outbox import enqueue
from storage.policy import share_for_referral

DUE_TOPIC = "referral.due"  # gateway.workflow.escalation: an unanswered green channel
GREEN_CHANNEL_MINUTES = 30
URGENT = ("urgent", "asap", "stat")
# Organization kind -> level of care (上转 goes to a higher one)
LEVELS = {"village_clinic": 0, "community_health_centre": 1, "township_health_centre": 1,
          "county_hospital": 2, "lead_hospital": 3}  # fmt: skip
# Elements the referrer may change once the referral was sent (besides revoking it).
FREE = {"meta", "note", "status"}


def governed_write(
    session: Session, requester: Requester, resource: dict[str, Any], current: StoredResource | None
) -> StoredResource | None:
    """The stored referral when these rules carried the write out; None for what is not a
    referral (or a draft of one: stored as usual)."""
    was = current.content if current is not None and not current.deleted else None
    if not (referrals.is_referral(resource) or referrals.is_referral(was)):
        return None
    sent = referral_steps.for_referral(session, resource["id"]) if was is not None else None
    if sent is not None:
        return _change(session, requester, resource, was or {}, sent.task_id)
    if resource.get("status") == "draft":
        return None
    if resource.get("status") != "active":
        raise Unprocessable("a referral is sent active (or kept as a draft)", [])
    receiver = _check(session, requester, resource)
    stored = store(session, resource, requester.org_id)
    _open(session, stored, requester.org_id, receiver)
    return stored


def _check(session: Session, requester: Requester, resource: dict[str, Any]) -> Organization:
    problems = validate(resource, "ServiceRequest", [referrals.PROFILE])
    if problems:
        raise Unprocessable(
            "the referral does not conform to yilian-referral",
            [(p.expression, p.message) for p in problems],
        )
    target = str(resource["performer"][0].get("reference", "")).removeprefix("Organization/")
    receiver = session.get(Organization, target)
    referrer = session.get(Organization, requester.org_id)
    if receiver is None or referrer is None or receiver.id == referrer.id:
        raise Unprocessable("performer: refer to another member of the alliance", [])
    if _alliance_of(session, referrer.id, receiver.id) is None:
        raise Unprocessable(f"{receiver.name} is not in an alliance with {referrer.name}", [])
    direction = referrals.direction_of(resource)
    up = LEVELS.get(receiver.kind, 0) > LEVELS.get(referrer.kind, 0)
    down = LEVELS.get(receiver.kind, 0) < LEVELS.get(referrer.kind, 0)
    if (direction == "up" and not up) or (direction == "down" and not down):
        where = "上转 goes to a higher" if direction == "up" else "下转 goes to a lower"
        raise Unprocessable(f"{where} level of care than {referrer.name}: {receiver.name} is not",
                            [])  # fmt: skip
    return receiver


def _alliance_of(session: Session, one: str, other: str) -> Alliance | None:
    """The first alliance (by id) both organizations belong to."""
    for alliance in session.scalars(select(Alliance).order_by(Alliance.id)):
        orgs = {alliance.lead_org_id, *(m.org_id for m in alliance.members)}
        if one in orgs and other in orgs:
            return alliance
    return None


def _open(
    session: Session, referral: StoredResource, referrer: str, receiver: Organization
) -> None:
    content = referral.content or {}
    now = datetime.now(UTC)
    direction = referrals.direction_of(content) or "up"
    priority = str(content.get("priority", "routine"))
    due = None
    if direction == "up" and priority in URGENT:
        alliance = _alliance_of(session, referrer, receiver.id)
        minutes = (alliance.green_channel_minutes if alliance else None) or GREEN_CHANNEL_MINUTES
        due = now + timedelta(minutes=minutes)
    task = {
        "resourceType": "Task", "id": new_id(),
        "meta": {"profile": [referrals.TASK_PROFILE]},
        "basedOn": [{"reference": f"ServiceRequest/{referral.id}"}],
        "status": "requested", "businessStatus": referrals.status_of("received"),
        "intent": "order", "priority": priority,
        "code": {"coding": [{"system": referrals.TASK_TYPE, "code": "referral"}],
                 "text": "转诊接诊"},
        "focus": {"reference": f"ServiceRequest/{referral.id}"},
        "for": content["subject"],
        "authoredOn": instant(now),
        "requester": content["requester"],
        "owner": {"reference": f"Organization/{receiver.id}", "display": receiver.name},
        **({"restriction": {"period": {"end": instant(due)}}} if due else {}),
    }  # fmt: skip
    referrals.name_receivers_patient(session, task, content, receiver.id)
    store_valid(session, task, receiver.id, referrals.TASK_PROFILE)
    attached = [*_references(content.get("supportingInfo")),
                *_references(content.get("reasonReference"))]  # fmt: skip
    referral_steps.open_referral(
        session, task_id=task["id"], referral_id=referral.id, direction=direction,
        priority=priority, referrer_org_id=referrer, receiver_org_id=receiver.id,
        booked=any(r.startswith("Appointment/") for r in attached), referred_at=now,
        accept_due_at=due,
    )  # fmt: skip
    shared = [*_references([content["subject"]]), *attached, *_results(session, attached)]
    share_for_referral(session, referral.id, receiver.id, [_split(r) for r in shared])
    if due is not None:
        enqueue(session, DUE_TOPIC, {"task": task["id"]}, delay=due - now)


def _references(value: Any) -> list[str]:
    return [
        str(item["reference"])
        for item in (value or [])
        if isinstance(item, dict) and "/" in str(item.get("reference", ""))
        and not str(item["reference"]).startswith(("http:", "https:", "urn:", "#"))
    ]  # fmt: skip


def _results(session: Session, attached: list[str]) -> list[str]:
    """The Observations of the DiagnosticReports going with the referral."""
    found: list[str] = []
    for reference in attached:
        if reference.startswith("DiagnosticReport/"):
            report = fhir_store.read(session, "DiagnosticReport", reference.split("/", 1)[1])
            found += _references((report.content or {}).get("result") if report else None)
    return found


def _split(reference: str) -> tuple[str, str]:
    kind, _, ident = reference.partition("/")
    return kind, ident


def _change(
    session: Session,
    requester: Requester,
    resource: dict[str, Any],
    was: dict[str, Any],
    task_id: str,
) -> StoredResource:
    kept = {k: v for k, v in was.items() if k not in FREE}
    if {k: v for k, v in resource.items() if k not in FREE} != kept:
        raise Conflict("a referral that was sent is not edited: revoke it and refer again")
    work = referrals.load(session, task_id)
    status = resource.get("status")
    if status in ("revoked", "entered-in-error") and status != was.get("status"):
        referrals.cancel(session, work, requester.subject)
        referrals.save(session, work)
    elif status == "completed" and status != was.get("status"):
        if work.state != "completed":
            raise Conflict("a referral is completed by its receiver ($complete) first")
    elif status != was.get("status"):
        raise Conflict(f"a sent referral goes to revoked (or completed), not to {status}")
    return store(session, resource, requester.org_id)
