"""What the ordering doctor decided about a recognisable prior (互认 or 不互认), recorded as a
``DetectedIssue`` — implicated: the new order and the prior; mitigation: recognised (the order
is revoked: not repeated) or repeated with one of the reasons the policy accepts, and that it
was explained to the patient — and in the register the alliance's indicators count.

The server decides: only the organization that placed the order, only while the order is
open, only for a prior that is recognisable for it now, once per order and prior; a repeat
names its reason (其他 with words).  That the decision was explained to the patient is
recorded when the client says so."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fhir_profiles.profiles import CANONICAL
from gateway.auth.tokens import Requester
from gateway.errors import Conflict, Unprocessable
from gateway.fhir.storing import store_valid
from gateway.workflow.recognition import Prior, recognizable
from storage.clinical.recognition import record_decision
from storage.clinical.recognition_marks import BEIJING
from storage.fhir import instant, new_id
from storage.fhir import store as fhir_store
from storage.models import RecognitionDecision

ISSUE = f"{CANONICAL}/CodeSystem/recognition-issue"
ACTIONS = f"{CANONICAL}/CodeSystem/recognition-action"
REASONS = f"{CANONICAL}/CodeSystem/recognition-repeat-reason"
REASON_EXTENSION = f"{CANONICAL}/StructureDefinition/recognition-repeat-reason"
OPEN = frozenset({"draft", "active", "on-hold"})
DECISIONS = {"recognised": "互认", "repeated": "不互认（重复检查）"}
# The reasons a recognisable result may be repeated (《医疗机构检查检验结果互认管理办法》第二十条).
REPEAT_REASONS = {
    "condition-changed": "病情变化",
    "inconsistent": "结果与临床不符",
    "emergency": "急诊抢救",
    "before-major-procedure": "重大医疗措施前",
    "forensic": "司法鉴定等",
    "patient-request": "患者要求",
    "institution-unqualified": "检查机构未通过质控",
    "expired": "超出有效期",
    "doctor-judgement": "医生判断需复查",
    "other": "其他",
}


def decide(
    session: Session,
    requester: Requester,
    order: dict[str, Any],
    given: dict[str, Any],
) -> dict[str, Any]:
    """Record the decision ``given`` (prior, decision, reason, reasonText, explained) about
    the requester's open ``order``; answer the DetectedIssue."""
    decision, reason, words = checked(given.get("decision"), given.get("reason"),
                                      given.get("reasonText"))  # fmt: skip
    return record(session, requester, order, _reference(given.get("prior")), decision, reason,
                  words, explained=given.get("explained") is True)  # fmt: skip


def record(
    session: Session,
    requester: Requester,
    order: dict[str, Any],
    prior_ref: str,
    decision: str,
    reason: str | None,
    words: str | None,
    *,
    explained: bool,
) -> dict[str, Any]:
    """Record a checked decision about ``prior_ref`` for ``order`` (placed, or a CDS Hooks
    draft): it must be open and the prior recognisable for it now, once."""
    if order.get("status") not in OPEN:
        raise Conflict(f"this order is {order.get('status')}: only an open order is decided")
    order_ref = f"ServiceRequest/{order['id']}"
    now = datetime.now(UTC)
    prior = next(
        (
            p
            for p in recognizable(session, requester.org_id, order, now)
            if p.reference == prior_ref
        ),
        None,
    )
    if prior is None:
        raise Conflict(f"{prior_ref} is not recognisable for this order")
    if session.scalar(
        select(RecognitionDecision.id).where(
            RecognitionDecision.order_ref == order_ref, RecognitionDecision.prior_ref == prior_ref
        )
    ):
        raise Conflict(f"a decision about {prior_ref} for this order is already recorded")
    issue = _issue(requester, order, prior, decision, reason, words, now, explained)
    store_valid(session, issue, requester.org_id)
    record_decision(
        session, issue_id=issue["id"], item=prior.item, org_id=requester.org_id,
        prior_org_id=prior.org_id, order_ref=order_ref, prior_ref=prior_ref, decision=decision,
        reason=reason, by=requester.subject, at=now,
    )  # fmt: skip
    placed = fhir_store.read(session, "ServiceRequest", order["id"])
    if decision == "recognised" and placed is not None and placed.owner_org_id == requester.org_id:
        current = placed.content or {}
        if current.get("status") in OPEN:
            store_valid(session, {**current, "status": "revoked"}, requester.org_id)
    return issue


def _reference(value: Any) -> str:
    reference = value.get("reference") if isinstance(value, dict) else None
    if not isinstance(reference, str) or "/" not in reference:
        raise Unprocessable("name the prior as a Reference (parameter 'prior')", [])
    return reference


def checked(decision: Any, reason: Any, words: Any) -> tuple[str, str | None, str | None]:
    """The decision, its repeat reason and words, as the policy accepts them (422 otherwise)."""
    if decision not in DECISIONS:
        raise Unprocessable(f"decision is one of {', '.join(DECISIONS)}", [])
    if decision == "repeated" and reason not in REPEAT_REASONS:
        raise Unprocessable(f"a repeat names its reason, one of {', '.join(REPEAT_REASONS)}", [])
    if decision == "recognised" and reason is not None:
        raise Unprocessable("a recognised result has no repeat reason", [])
    if reason == "other" and not (isinstance(words, str) and words.strip()):
        raise Unprocessable("the reason 其他 (other) needs reasonText", [])
    return decision, reason, words.strip() if isinstance(words, str) and words.strip() else None


def _issue(
    requester: Requester,
    order: dict[str, Any],
    prior: Prior,
    decision: str,
    reason: str | None,
    words: str | None,
    now: datetime,
    explained: bool,
) -> dict[str, Any]:
    author = (
        {"reference": f"Practitioner/{requester.subject}"}
        if requester.kind == "user"
        else {"reference": f"Organization/{requester.org_id}"}
    )
    action: dict[str, Any] = {
        "coding": [{"system": ACTIONS, "code": decision, "display": DECISIONS[decision]}]
    }
    mitigation: dict[str, Any] = {"action": action, "date": instant(now), "author": author}
    if reason is not None:
        action["text"] = "；".join(filter(None, [REPEAT_REASONS[reason], words]))
        mitigation["extension"] = [{"url": REASON_EXTENSION, "valueCodeableConcept": {
            "coding": [{"system": REASONS, "code": reason, "display": REPEAT_REASONS[reason]}],
            **({"text": words} if words else {})}}]  # fmt: skip
    told = {"coding": [{"system": ACTIONS, "code": "explained", "display": "已向患者说明"}]}
    item = prior.item
    return {
        "resourceType": "DetectedIssue",
        "id": new_id(),
        "status": "final",
        "code": {"coding": [{"system": ISSUE, "code": "recognizable-prior",
                             "display": "有可互认的检查检验结果"}]},
        "severity": "low",
        "patient": order["subject"],
        "identifiedDateTime": instant(now),
        "author": author,
        "implicated": [{"reference": f"ServiceRequest/{order['id']}"},
                       {"reference": prior.reference}],
        "detail": f"{item.name}（{item.mark}）：{_day(prior.obtained)} 的结果，"
                  f"互认有效期至 {_day(prior.until)}",
        "mitigation": [mitigation,
                       *([{"action": told, "date": instant(now), "author": author}]
                         if explained else [])],
    }  # fmt: skip


def _day(moment: datetime) -> str:
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d")
