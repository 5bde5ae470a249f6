"""``ServiceRequest/$recognizable-results`` (区域互认 at order time, for a HIS without CDS
Hooks): a draft order in (``order``, type level) or a placed one (instance level); out, each
prior result of the same person that is recognisable for it
(:mod:`gateway.workflow.recognition`): the catalogue item and its mark, the result, the
institution, when it was obtained, until when it is recognisable and what repeating it would
cost — and the prompt 浙医互认 shows when there are any.  Each prior offered is shared with
the orderer so that 调阅报告 opens it; the answer is audited with every prior it names."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from gateway.auth.routes import Auth
from gateway.auth.tokens import Requester
from gateway.errors import BadRequest
from gateway.fhir import interactions, openapi
from gateway.fhir.context import Fhir
from gateway.fhir.http import body_bytes, parameter_values
from gateway.fhir.operation import Operation, Param
from gateway.fhir.own_orders import own_order
from gateway.fhir.recognition_catalogue import system_url
from gateway.fhir.recognition_offer import offer
from gateway.transactions import json_answer
from gateway.workflow.recognition import Prior, institution_names
from storage.fhir import instant

PROMPT = "有互认检查项目，请审阅并选择『互认』或『不互认』"


def mount(api: APIRouter, fhir: Fhir) -> None:
    @api.post("/ServiceRequest/$recognizable-results", openapi_extra=openapi.PARAMETERS)
    async def for_draft(request: Request, requester: Auth) -> Response:
        interactions.authorize(requester, "ServiceRequest", "r")
        order = parameter_values(await body_bytes(request)).get("order")
        if not isinstance(order, dict) or order.get("resourceType") != "ServiceRequest":
            raise BadRequest("send the draft order as the parameter 'order' (a ServiceRequest)")
        return await json_answer(fhir.platform, lambda s: answer(s, requester, order))

    @api.get("/ServiceRequest/{order_id}/$recognizable-results", name="recognizable-for-order")
    @api.post(
        "/ServiceRequest/{order_id}/$recognizable-results", name="recognizable-for-order-post"
    )
    async def for_order(requester: Auth, order_id: str) -> Response:
        interactions.authorize(requester, "ServiceRequest", "r")
        return await json_answer(
            fhir.platform, lambda s: answer(s, requester, own_order(s, requester, order_id))
        )


def answer(session: Session, requester: Requester, order: dict[str, Any]) -> dict[str, Any]:
    priors = offer(session, requester, order, "recognizable-results", datetime.now(UTC))
    return as_parameters(session, priors)


def as_parameters(session: Session, priors: list[Prior]) -> dict[str, Any]:
    names = institution_names(session, priors)
    parameters: list[dict[str, Any]] = [{"name": "count", "valueInteger": len(priors)}]
    if priors:
        parameters.append({"name": "prompt", "valueString": PROMPT})
    parameters += [{"name": "prior", "part": _parts(p, names)} for p in priors]
    return {"resourceType": "Parameters", "parameter": parameters}


def _parts(prior: Prior, names: dict[str, str]) -> list[dict[str, Any]]:
    item, content = prior.item, prior.result.content or {}
    title = (content.get("code") or {}).get("text") or item.name
    return [
        {"name": "item", "valueCoding": {
            "system": system_url(item.alliance_id), "code": item.code, "display": item.name}},
        {"name": "mark", "valueString": item.mark},
        {"name": "scope", "valueCode": item.scope},
        {"name": "result", "valueReference": {"reference": prior.reference, "display": title}},
        {"name": "institution", "valueReference": {
            "reference": f"Organization/{prior.org_id}", "display": names.get(prior.org_id)}},
        {"name": "obtained", "valueDateTime": instant(prior.obtained)},
        {"name": "validUntil", "valueDateTime": instant(prior.until)},
        {"name": "price", "valueMoney": {"value": float(item.price), "currency": "CNY"}},
        *([{"name": "conclusion", "valueString": content["conclusion"]}]
          if content.get("conclusion") else []),
    ]  # fmt: skip


OPERATION = Operation(
    code="recognizable-results",
    title="Prior results recognisable for an order (区域互认)",
    description="The prior results of the same person, held by any member of the orderer's "
    "alliances, that are recognisable for the order: the same catalogue item, released, issued "
    "by an institution qualified for it on the day, inside the item's window.  Type level: a "
    "draft order (parameter 'order'); instance level: a placed order of the requester's.  Each "
    "prior offered is shared with the orderer, so that its report can be opened.",
    resources=("ServiceRequest",),
    type_level=True,
    instance_level=True,
    parameters=(
        Param("order", "in", "ServiceRequest", "the draft order (type level)"),
        Param("count", "out", "integer", "how many priors are recognisable", 1),
        Param("prompt", "out", "string", "the prompt to show when there are any"),
        Param(
            "prior",
            "out",
            "",
            "one recognisable prior, newest first",
            0,
            "*",
            parts=(
                Param("item", "out", "Coding", "the catalogue item (互认项目)", 1),
                Param("mark", "out", "string", "the mark it is recognised under, e.g. 浙HR", 1),
                Param("scope", "out", "code", "alliance | city | province", 1),
                Param("result", "out", "Reference", "the DiagnosticReport or Observation", 1),
                Param("institution", "out", "Reference", "the Organization that issued it", 1),
                Param("obtained", "out", "dateTime", "when the result was obtained", 1),
                Param("validUntil", "out", "dateTime", "recognisable until", 1),
                Param("price", "out", "Money", "what repeating it would cost", 1),
                Param("conclusion", "out", "string", "the report's impression"),
            ),
        ),
    ),
    mount=mount,
)
