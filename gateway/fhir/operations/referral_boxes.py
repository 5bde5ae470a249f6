"""``GET /fhir/ServiceRequest/$referrals?box=in|out``: an organization's referrals (转诊) —
``in`` those referred to it (its inbox), ``out`` those it made (its outbox) — newest first, each
with its referral, its Task's state, the patient and the documents as the requester may see
them, every step's time and who took it, the green channel's due time, and the steps the
requester may take now.  One audit record names them all."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.auth.routes import Auth
from gateway.errors import BadRequest
from gateway.fhir import interactions
from gateway.fhir.context import Fhir
from gateway.fhir.operation import Operation, Param
from gateway.transactions import json_read
from gateway.workflow import referrals
from storage.clinical import referral_steps
from storage.fhir import instant, read_many
from storage.models import Organization, ReferralSteps

LIMIT = 200


def mount(api: APIRouter, fhir: Fhir) -> None:
    @api.get("/ServiceRequest/$referrals")
    async def referral_boxes(requester: Auth, box: str = "in") -> Response:
        interactions.authorize(requester, "ServiceRequest", "r")
        if box not in ("in", "out"):
            raise BadRequest(f"box is in or out, not {box!r}")

        def work(session: Session) -> dict[str, Any]:
            rows = referral_steps.boxes(session, requester.org_id, box, LIMIT)
            viewer = interactions.viewer_of(session, requester)
            own = [f"ServiceRequest/{r.referral_id}" for r in rows]
            own += [f"Task/{r.task_id}" for r in rows]
            seen = {f"{r.resource_type}/{r.id}": r.content for r in read_many(session, own, viewer)}
            linked = {
                reference for content in seen.values() for reference in _linked(content or {})
            }
            seen |= {
                f"{r.resource_type}/{r.id}": r.content
                for r in read_many(session, sorted(linked), viewer)
            }
            orgs = {r.referrer_org_id for r in rows} | {r.receiver_org_id for r in rows}
            names = dict(
                session.execute(
                    select(Organization.id, Organization.name).where(Organization.id.in_(orgs))
                ).all()
            )
            interactions.audit_fhir(
                session, requester, "search-type", "ServiceRequest", face=f"referrals-{box}",
                ids=[r.referral_id for r in rows], included=sorted(seen),
            )  # fmt: skip
            return {"referrals": [_entry(r, box, seen, names) for r in rows]}

        return await json_read(fhir.platform, work)


def _linked(content: dict[str, Any]) -> list[str]:
    """What a referral or its Task points at that the page shows: patient, documents,
    summary."""
    found = [str((content.get("subject") or {}).get("reference", ""))]
    for key in ("supportingInfo", "reasonReference"):
        found += [str(item.get("reference", "")) for item in content.get(key, [])]
    found += [str((o.get("valueReference") or {}).get("reference", ""))
              for o in content.get("output", [])]  # fmt: skip
    return [reference for reference in found if reference.count("/") == 1]


def _document(reference: str, content: dict[str, Any] | None) -> dict[str, Any]:
    kind = reference.split("/", 1)[0]
    if content is None:
        return {"reference": reference, "type": kind, "title": None}
    concept = content.get("code") or content.get("type") or {}
    displays = [c.get("display") for c in concept.get("coding", []) if c.get("display")]
    attachments = [c.get("attachment") or {} for c in content.get("content", [])]
    titles = [content.get("title"), content.get("description"),
              *(a.get("title") for a in attachments), concept.get("text"), *displays]  # fmt: skip
    title = next((t for t in titles if t), None)
    return {"reference": reference, "type": kind, "title": title,
            "status": content.get("status")}  # fmt: skip


def _entry(
    row: ReferralSteps, box: str, seen: dict[str, Any], names: dict[str, str]
) -> dict[str, Any]:
    referral = seen.get(f"ServiceRequest/{row.referral_id}") or {}
    task = seen.get(f"Task/{row.task_id}") or {}
    state = next(
        (str(c.get("code")) for c in (task.get("businessStatus") or {}).get("coding", [])
         if c.get("system") == referrals.STATUS), "received")  # fmt: skip
    if box == "in":
        actions = list(referrals.NEXT.get(state, ()))
    else:
        actions = ["cancel"] if state == "received" else []
    steps = {
        step: {k: instant(v) if k == "at" else v for k, v in shown.items()}
        for step, shown in referral_steps.timeline(row).items()
    }
    output = [str((o.get("valueReference") or {}).get("reference", ""))
              for o in task.get("output", [])]  # fmt: skip
    return {
        "id": row.referral_id, "task": row.task_id, "direction": row.direction,
        "priority": row.priority, "state": state,
        "referrer": {"id": row.referrer_org_id, "name": names.get(row.referrer_org_id)},
        "receiver": {"id": row.receiver_org_id, "name": names.get(row.receiver_org_id)},
        "department": (referral.get("performerType") or {}).get("text"),
        "reason": "；".join(c.get("text", "") for c in referral.get("reasonCode", [])) or None,
        "patient": seen.get(str((referral.get("subject") or {}).get("reference", ""))),
        "documents": [_document(r, seen.get(r)) for r in _linked({
            "supportingInfo": referral.get("supportingInfo", []),
            "reasonReference": referral.get("reasonReference", [])})],
        "summary": [_document(r, seen.get(r)) for r in output if r],
        "statusReason": (task.get("statusReason") or {}).get("text"),
        "acceptDue": instant(row.accept_due_at) if row.accept_due_at else None,
        "booked": row.booked,
        "steps": steps,
        "actions": actions,
    }  # fmt: skip


OPERATION = Operation(
    code="referrals",
    title="Referral inbox and outbox (转诊)",
    description="The referrals made to (box=in) or by (box=out) the requester's organization, "
    "newest first, with the patient and documents as the requester may see them, each step's "
    "time, and the steps the requester may take now.",
    resources=("ServiceRequest",),
    type_level=True,
    parameters=(Param("box", "in", "code", "in (default: referred to us) or out (ours)"),),
    answer="referrals: id, task, direction (up|down), priority, state, referrer, receiver "
    "(id, name), department, reason, patient (Patient), documents and summary (reference, "
    "type, title), statusReason, acceptDue, booked, steps (referred, accepted, declined, "
    "arrived, completed, cancelled, escalated: at, by), actions.",
    mount=mount,
)
