"""CDS Hooks 2.0 for mutual recognition at order time (区域互认): a member's HIS calls
``order-select`` while the doctor picks examinations and ``order-sign`` before signing, with
the draft orders; each prior of the same person that is recognisable for a draft
(:mod:`gateway.workflow.recognition`) comes back as a card — what, where, when, until when,
the report's impression — with the suggestion to drop the draft (互认), the policy's repeat
reasons as ``overrideReasons`` (不互认) and a link to the web app's page of the prior (调阅报告,
``/app/results/{type}/{id}`` at the gateway's public address; the person logs in there and the
server decides whether they may read it).  The HIS reports what the doctor did to
``/cds-services/{id}/feedback``: accepted is recorded as recognised, overridden as repeated with
its reason, both as a ``DetectedIssue`` (:mod:`gateway.workflow.recognition_decisions`).

The HIS authenticates as for the FHIR API (its client's token); the patient and the draft
orders are read from the request (``context.draftOrders``), so no prefetch is needed and
``fhirServer``/``fhirAuthorization`` are not used: the results are this server's own."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from gateway import webapp_site
from gateway.auth.routes import Auth, public_base
from gateway.auth.tokens import Requester
from gateway.errors import BadRequest, NotFound, Unprocessable
from gateway.fhir import interactions
from gateway.fhir.http import body_bytes
from gateway.fhir.recognition_catalogue import system_url
from gateway.fhir.recognition_offer import offer
from gateway.routing import PrefixRouter
from gateway.transactions import run_in_transaction
from gateway.workflow.recognition import Prior, institution_names
from gateway.workflow.recognition_decisions import REASONS, REPEAT_REASONS, checked, record
from storage.clinical.recognition_marks import BEIJING
from storage.json_codec import loads
from storage.models import RecognitionCard
from storage.platform import Platform

SERVICES = {
    "yilian-recognition-select": ("order-select", "互认提示（选择医嘱时）",
                                  "Recognisable prior results while examinations are selected"),
    "yilian-recognition-sign": ("order-sign", "互认提示（签署医嘱前）",
                                "Recognisable prior results before the orders are signed"),
}  # fmt: skip
SOURCE = "医联 区域互认"


def router(platform: Platform) -> APIRouter:
    api = PrefixRouter(prefix="/cds-services", tags=["CDS Hooks"])

    @api.get("")
    async def discovery() -> JSONResponse:
        return JSONResponse({"services": [
            {"hook": hook, "id": service_id, "title": title, "description": description,
             "usageRequirements": "Authenticate with the HIS's OAuth client token; send the "
                                  "draft ServiceRequests in context.draftOrders."}
            for service_id, (hook, title, description) in SERVICES.items()
        ]})  # fmt: skip

    @api.post("/{service_id}")
    async def call(request: Request, requester: Auth, service_id: str) -> JSONResponse:
        hook = _service(service_id)
        interactions.authorize(requester, "ServiceRequest", "r")
        body = _json(await body_bytes(request))
        if body.get("hook") != hook:
            raise BadRequest(f"the service {service_id} answers the hook {hook}")
        drafts = _drafts(body)
        app = f"{public_base(request, platform)}{webapp_site.PREFIX}"
        cards = await run_in_threadpool(
            run_in_transaction, platform, lambda s: _cards(s, requester, service_id, drafts, app)
        )
        return JSONResponse({"cards": cards})

    @api.post("/{service_id}/feedback")
    async def feedback(request: Request, requester: Auth, service_id: str) -> JSONResponse:
        _service(service_id)
        interactions.authorize(requester, "DetectedIssue", "c")
        entries = _json(await body_bytes(request)).get("feedback")
        if not isinstance(entries, list) or not entries:
            raise BadRequest("send {'feedback': [...]} with at least one entry")
        await run_in_threadpool(
            run_in_transaction, platform, lambda s: [_feedback(s, requester, e) for e in entries]
        )
        return JSONResponse({})

    return api


def _service(service_id: str) -> str:
    if service_id not in SERVICES:
        raise NotFound(f"no CDS service {service_id}")
    return SERVICES[service_id][0]


def _json(body: bytes) -> dict[str, Any]:
    try:
        parsed = loads(body)
    except ValueError:
        raise BadRequest("the body is not JSON") from None
    if not isinstance(parsed, dict):
        raise BadRequest("the body is a JSON object")
    return parsed


def _drafts(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The context's draft ServiceRequests (for order-select, the selected ones), each about
    the context's patient."""
    context = body.get("context")
    if not isinstance(body.get("hookInstance"), str) or not isinstance(context, dict):
        raise BadRequest("a hook request has hookInstance and context")
    patient = context.get("patientId")
    bundle = context.get("draftOrders")
    if not isinstance(patient, str) or not isinstance(bundle, dict):
        raise BadRequest("context has patientId and draftOrders (a Bundle)")
    selected = context.get("selections")
    drafts = []
    for entry in bundle.get("entry", []):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or resource.get("resourceType") != "ServiceRequest":
            continue
        if not isinstance(resource.get("id"), str):
            raise Unprocessable("every draft order has an id (the card's suggestion names it)", [])
        if isinstance(selected, list) and f"ServiceRequest/{resource['id']}" not in selected:
            continue
        drafts.append({**resource, "subject": {"reference": f"Patient/{patient}"}})
    return drafts


def _cards(
    session: Session,
    requester: Requester,
    service_id: str,
    drafts: list[dict[str, Any]],
    app: str,
) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    cards = []
    for draft in drafts:
        priors = offer(session, requester, draft, service_id, now)
        names = institution_names(session, priors)
        for prior in priors:
            card = _card(draft, prior, names.get(prior.org_id, prior.org_id), app)
            session.add(RecognitionCard(
                id=card["uuid"], suggestion_id=card["suggestions"][0]["uuid"],
                service_id=service_id, org_id=requester.org_id, order=draft,
                prior_ref=prior.reference, issued_at=now,
            ))  # fmt: skip
            cards.append(card)
    return cards


def _day(moment: datetime) -> str:
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d")


def _card(draft: dict[str, Any], prior: Prior, where: str, app: str) -> dict[str, Any]:
    item, content = prior.item, prior.result.content or {}
    summary = f"可互认：{where} {_day(prior.obtained)} {item.name}（{item.mark}）"
    conclusion = content.get("conclusion")
    detail = (
        f"{where} {_day(prior.obtained)} 的**{item.name}**结果在互认有效期内"
        f"（至 {_day(prior.until)}，{item.mark}）。"
        + (f"\n\n结论：{conclusion}" if conclusion else "")
        + "\n\n互认请撤销本次医嘱；重复检查请选择不互认理由。"
    )
    return {
        "uuid": str(uuid.uuid4()),
        "summary": summary[:140],
        "detail": detail,
        "indicator": "warning",
        "source": {"label": SOURCE, "topic": {
            "system": system_url(item.alliance_id), "code": item.code, "display": item.name}},
        "suggestions": [{
            "label": "互认：不再开具此检查", "uuid": str(uuid.uuid4()), "isRecommended": True,
            "actions": [{"type": "delete", "description": "撤销本次医嘱（结果互认）",
                         "resourceId": f"ServiceRequest/{draft['id']}"}],
        }],
        "selectionBehavior": "at-most-one",
        "links": [{"label": "调阅报告", "url": f"{app}/results/{prior.reference}",
                   "type": "absolute"}],
        "overrideReasons": [
            {"system": REASONS, "code": code, "display": display}
            for code, display in REPEAT_REASONS.items()
        ],
        "extension": {"cn.yilian.prior": {
            "result": prior.reference, "institution": f"Organization/{prior.org_id}",
            "institutionName": where, "price": f"{item.price:.2f}"}},
    }  # fmt: skip


def _feedback(session: Session, requester: Requester, entry: Any) -> None:
    if not isinstance(entry, dict) or entry.get("outcome") not in ("accepted", "overridden"):
        raise BadRequest("each feedback has a card and an outcome, accepted or overridden")
    if not isinstance(entry.get("outcomeTimestamp"), str):
        raise BadRequest("each feedback has its outcomeTimestamp")
    card = session.get(RecognitionCard, str(entry.get("card")))
    if card is None or card.org_id != requester.org_id:
        raise NotFound(f"no card {entry.get('card')} was given to this client")
    if entry["outcome"] == "accepted":
        accepted = {
            s.get("id") for s in entry.get("acceptedSuggestions", []) if isinstance(s, dict)
        }
        if card.suggestion_id not in accepted:
            raise Unprocessable("an accepted card names the suggestion it accepted", [])
        decision, reason, words = checked("recognised", None, None)
    else:
        override = entry.get("overrideReason") or {}
        coding = override.get("reason") or {}
        if coding.get("system") not in (REASONS, None):
            raise Unprocessable("the override reason is one of the card's overrideReasons", [])
        decision, reason, words = checked("repeated", coding.get("code"),
                                          override.get("userComment"))  # fmt: skip
    record(session, requester, card.order, card.prior_ref, decision, reason, words,
           explained=False)  # fmt: skip
