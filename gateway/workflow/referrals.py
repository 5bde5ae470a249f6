"""Referrals between members (双向转诊) as a state machine the server enforces: whoever asks —
an operation (``$accept`` …) or a plain FHIR write of the Task — the change is one of the steps
below, checked here and nowhere else.

A referral is a ``ServiceRequest`` (category SNOMED CT 3457005 Patient referral and a
``referral-direction`` up 上转 / down 下转; profile ``yilian-referral``) placed by the referring
member with the receiving one (``performer``, an Organization; the department as
``performerType``).  The server gives the receiver its ``Task`` (profile
``yilian-referral-task``, owner the receiving Organization) — :mod:`referral_intake`:

==================  ===========  ==================================================
待接收 received      requested    sent; the receiver has not answered yet
已接收 accepted      accepted     the receiver takes the patient
已拒收 declined      rejected     the receiver cannot (``statusReason`` says why)
患者已到院 arrived   in-progress  the patient is there
已完成 completed     completed    ``output``: the discharge / treatment summary sent back
已撤销 cancelled     cancelled    the referrer revoked its referral before acceptance
==================  ===========  ==================================================

Who: only the receiving organization — its people (clinicians, heads) or its systems (HIS) —
acts on the Task; the referrer cancels by revoking its ServiceRequest, while it is received.
Every step is stamped (``storage.clinical.referral_steps``) and audited by its caller.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from fhir_profiles.profiles import CANONICAL
from gateway.auth.tokens import Requester
from gateway.errors import Conflict, Forbidden, NotFound, Unprocessable
from gateway.fhir.storing import store, store_valid
from storage.clinical import referral_steps
from storage.fhir import StoredResource, by_identifier, instant, new_id
from storage.fhir import store as fhir_store
from storage.identity_numbers import ID_CARD
from storage.models import ReferralSteps
from storage.policy import share_for_referral

SCT = "http://snomed.info/sct"
REFERRAL_CODE = "3457005"  # Patient referral (procedure)
DIRECTION = f"{CANONICAL}/CodeSystem/referral-direction"
STATUS = f"{CANONICAL}/CodeSystem/referral-status"
TASK_TYPE = f"{CANONICAL}/CodeSystem/task-type"
PROFILE = f"{CANONICAL}/StructureDefinition/yilian-referral"
TASK_PROFILE = f"{CANONICAL}/StructureDefinition/yilian-referral-task"
LOINC = "http://loinc.org"
OWN_RECORD = "接收方患者档案"
# direction -> the summary the receiver sends back (LOINC document type)
SUMMARIES = {"up": ("18842-5", "出院小结"), "down": ("34133-9", "诊疗小结")}
ACTORS = {"clinician", "head", "admin"}

# businessStatus code -> (Task.status, display)
STATES = {
    "received": ("requested", "待接收"),
    "accepted": ("accepted", "已接收"),
    "declined": ("rejected", "已拒收"),
    "arrived": ("in-progress", "患者已到院"),
    "completed": ("completed", "已完成"),
    "cancelled": ("cancelled", "已撤销"),
}
# What the receiver may do next, from each state (the page shows these actions).
NEXT = {"received": ("accept", "decline"), "accepted": ("arrive",), "arrived": ("complete",)}


def is_referral(resource: dict[str, Any] | None) -> bool:
    return (resource or {}).get("resourceType") == "ServiceRequest" and any(
        coding.get("system") == SCT and coding.get("code") == REFERRAL_CODE
        for category in (resource or {}).get("category", [])
        for coding in category.get("coding", [])
    )


def is_referral_task(content: dict[str, Any] | None) -> bool:
    codings = ((content or {}).get("code") or {}).get("coding", [])
    return any(c.get("system") == TASK_TYPE and c.get("code") == "referral" for c in codings)


def direction_of(resource: dict[str, Any]) -> str | None:
    for category in resource.get("category", []):
        for coding in category.get("coding", []):
            if coding.get("system") == DIRECTION and coding.get("code") in ("up", "down"):
                return str(coding["code"])
    return None


def status_of(code: str) -> dict[str, Any]:
    display = STATES[code][1]
    return {"coding": [{"system": STATUS, "code": code, "display": display}], "text": display}


@dataclass
class Work:
    """A referral Task with what its rules look at."""

    task: StoredResource
    content: dict[str, Any]
    referral: dict[str, Any]
    steps: ReferralSteps
    changes: list[str] = field(default_factory=list)

    @property
    def state(self) -> str:
        for coding in (self.content.get("businessStatus") or {}).get("coding", []):
            if coding.get("system") == STATUS:
                return str(coding.get("code"))
        return "received"


def load(session: Session, task_id: str) -> Work:
    task = fhir_store.read(session, "Task", task_id)
    if task is None or task.deleted or not is_referral_task(task.content):
        raise NotFound(f"Task/{task_id} is not a referral task known here")
    steps = referral_steps.steps_of(session, task_id)
    referral = fhir_store.read(session, "ServiceRequest", steps.referral_id) if steps else None
    if steps is None or referral is None or referral.content is None:
        raise NotFound(f"Task/{task_id} has lost its referral")
    content = {k: v for k, v in (task.content or {}).items() if k != "meta"}
    return Work(task, content, referral.content, steps)


def receiving(requester: Requester, work: Work) -> str:
    """Who acts: a person with a clinical role or a system of the receiving organization (the
    name the step is stamped with)."""
    if requester.org_id != work.steps.receiver_org_id:
        raise Forbidden("only the receiving organization acts on this referral")
    if requester.kind == "user" and not ACTORS & set(requester.roles):
        raise Forbidden("this step needs the role clinician or head of the receiving organization")
    return requester.subject


def _in(work: Work, *states: str) -> None:
    if work.state not in states:
        shown = STATES.get(work.state, ("", work.state))[1]
        raise Conflict(
            f"the referral is {shown} ({work.state}); this step needs {' or '.join(states)}"
        )


# --- the steps ----------------------------------------------------------------------------


def accept(session: Session, requester: Requester, work: Work, note: str = "") -> None:
    who = receiving(requester, work)
    _in(work, "received")
    _move(session, work, "accepted", who, note and f"已接收：{note}")


def decline(session: Session, requester: Requester, work: Work, reason: str) -> None:
    who = receiving(requester, work)
    _in(work, "received")
    if not reason.strip():
        raise Unprocessable("say why the referral is declined (reason)", [])
    work.content["statusReason"] = {"text": reason.strip()}
    _move(session, work, "declined", who, f"拒收：{reason.strip()}")


def arrive(session: Session, requester: Requester, work: Work) -> None:
    """The patient is there; the receiver's own record of them, registered by now, is named."""
    who = receiving(requester, work)
    _in(work, "accepted")
    name_receivers_patient(session, work.content, work.referral, work.steps.receiver_org_id)
    _move(session, work, "arrived", who)


def complete(
    session: Session,
    requester: Requester,
    work: Work,
    text: str = "",
    summary: dict[str, Any] | None = None,
) -> None:
    """The receiver is done: the summary (a text the server files as a ``DocumentReference``,
    or a reference to the receiver's own document) goes back to the referrer."""
    who = receiving(requester, work)
    _in(work, "arrived")
    reference = str((summary or {}).get("reference", ""))
    if reference:
        target = _own_document(session, work, reference)
    elif text.strip():
        target = _summary_document(session, work, text.strip())
    else:
        raise Unprocessable("send the discharge or treatment summary back (text or summary)", [])
    kind = SUMMARIES[work.steps.direction][1]
    work.content["output"] = [{"type": {"text": kind}, "valueReference": {"reference": target}}]
    kind, _, ident = target.partition("/")
    share_for_referral(session, work.steps.referral_id, work.steps.referrer_org_id, [(kind, ident)])
    _move(session, work, "completed", who)


def cancel(session: Session, work: Work, who: str) -> None:
    """The referrer revoked its referral (its ServiceRequest): only before acceptance."""
    if work.state == "cancelled":
        return
    if work.state != "received":
        shown = STATES.get(work.state, ("", work.state))[1]
        raise Conflict(f"the referral is {shown}: only a referral not yet accepted is revoked")
    _move(session, work, "cancelled", who)


def save(session: Session, work: Work) -> StoredResource:
    work.task = store(session, work.content, work.task.owner_org_id)
    return work.task


# --- shared pieces ------------------------------------------------------------------------


def name_receivers_patient(
    session: Session, task: dict[str, Any], referral: dict[str, Any], receiver: str
) -> None:
    """The patient across members (no patient index yet): the receiver's own Patient carrying
    the referred patient's 身份证号, if it has one, named in the Task's ``input``."""
    if any((i.get("type") or {}).get("text") == OWN_RECORD for i in task.get("input", [])):
        return
    reference = str(referral["subject"].get("reference", ""))
    patient = fhir_store.read(session, "Patient", reference.removeprefix("Patient/"))
    numbers = [
        str(i["value"]) for i in (patient.content or {}).get("identifier", [])
        if i.get("system") == ID_CARD and i.get("value")
    ] if patient is not None else []  # fmt: skip
    for number in numbers:
        own = by_identifier(session, "Patient", ID_CARD, number, owner_org_id=receiver)
        if own is not None:
            named = {
                "type": {"text": OWN_RECORD},
                "valueReference": {"reference": f"Patient/{own.id}"},
            }
            task["input"] = [*task.get("input", []), named]
            return


def _move(session: Session, work: Work, state: str, who: str, note: str = "") -> None:
    now = datetime.now(UTC)
    status = STATES[state][0]
    work.content |= {"status": status, "businessStatus": status_of(state)}
    work.content["lastModified"] = instant(now)
    period = dict(work.content.get("executionPeriod") or {})
    if state == "arrived":
        period["start"] = instant(now)
    if state in ("completed", "declined", "cancelled"):
        period["end"] = instant(now)
    if period:
        work.content["executionPeriod"] = period
    if note:
        entry = {"authorString": who, "time": instant(now), "text": note}
        work.content["note"] = [*work.content.get("note", []), entry]
    referral_steps.stamp(session, work.task.id, state, now, who)
    work.changes.append(state)


def _own_document(session: Session, work: Work, reference: str) -> str:
    kind, _, ident = reference.partition("/")
    if kind not in ("DocumentReference", "Composition", "DiagnosticReport", "CarePlan"):
        raise Unprocessable("the summary is a DocumentReference, Composition, DiagnosticReport "
                            "or CarePlan", [])  # fmt: skip
    stored = fhir_store.read(session, kind, ident)
    if stored is None or stored.deleted or stored.owner_org_id != work.steps.receiver_org_id:
        raise Unprocessable(f"{reference} is not a document of the receiving organization", [])
    return reference


def _summary_document(session: Session, work: Work, text: str) -> str:
    code, display = SUMMARIES[work.steps.direction]
    document = {
        "resourceType": "DocumentReference", "id": new_id(), "status": "current",
        "type": {"coding": [{"system": LOINC, "code": code}], "text": display},
        "subject": work.referral["subject"],
        "date": instant(datetime.now(UTC)),
        "author": [{"reference": f"Organization/{work.steps.receiver_org_id}"}],
        "content": [{"attachment": {
            "contentType": "text/plain; charset=utf-8", "title": display,
            "data": base64.b64encode(text.encode()).decode(),
        }}],
        "context": {"related": [{"reference": f"ServiceRequest/{work.steps.referral_id}"}]},
    }  # fmt: skip
    stored = store_valid(session, document, work.steps.receiver_org_id)
    return f"DocumentReference/{stored.id}"
