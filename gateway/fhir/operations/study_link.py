"""``POST /fhir/ImagingStudy/{id}/$link`` (Parameters ``order``: the ServiceRequest): a person
confirms which order a study answers — a study without the order's accession number, or the
candidate the server proposed.  The study is published again ``basedOn`` the order and its
reading Task moves to 待阅片."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from gateway.auth.routes import Auth
from gateway.errors import BadRequest, Conflict, Forbidden, NotFound
from gateway.fhir import interactions, openapi
from gateway.fhir.context import Fhir
from gateway.fhir.http import body_bytes, parameter_values
from gateway.fhir.operation import Operation, Param
from gateway.study_publish import publish
from gateway.transactions import json_answer
from gateway.workflow.orders import reading_category
from storage.clinical import reading_milestones, study_links
from storage.fhir import store as fhir_store
from storage.models import Centre


def mount(api: APIRouter, fhir: Fhir) -> None:
    @api.post("/ImagingStudy/{study_id}/$link", openapi_extra=openapi.PARAMETERS)
    async def link(request: Request, requester: Auth, study_id: str) -> Response:
        interactions.authorize(requester, "ImagingStudy", "r")
        body = await body_bytes(request)

        def work(session: Session) -> dict[str, Any]:
            study = fhir_store.read(session, "ImagingStudy", study_id)
            if study is None or not interactions.sees(session, requester, study):
                raise NotFound(f"ImagingStudy/{study_id} is not known")
            order_id = _order(body)
            order = fhir_store.read(session, "ServiceRequest", order_id)
            if order is None or not interactions.sees(session, requester, order):
                raise NotFound(f"ServiceRequest/{order_id} is not known")
            if order.owner_org_id != study.owner_org_id or reading_category(
                order.content or {}) != "imaging":  # fmt: skip
                raise Conflict("a study answers an imaging order of the organization it came from")
            _may_link(session, requester, order_id, order.owner_org_id)
            study_links.confirm(session, study_id, order_id, requester.subject)
            publish(session, fhir.platform, study_id, study.owner_org_id or "")
            interactions.audit_fhir(session, requester, "link", "ImagingStudy", id=study_id)
            current = fhir_store.read(session, "ImagingStudy", study_id)
            assert current is not None
            return current.content or {}

        return await json_answer(fhir.platform, work)


def _order(body: bytes) -> str:
    reference = str((parameter_values(body).get("order") or {}).get("reference", ""))
    if not reference.startswith("ServiceRequest/"):
        raise BadRequest("send a Parameters resource with order (valueReference ServiceRequest/id)")
    return reference.split("/", 1)[1]


def _may_link(session: Session, requester: Any, order_id: str, clinic: str | None) -> None:
    """The ordering clinic, or the centre that reads the order."""
    centres = {row.centre_id for row in reading_milestones.for_order(session, order_id)}
    readers = {c.org_id for c in (session.get(Centre, c) for c in centres) if c is not None}
    if requester.org_id not in {clinic, *readers}:
        raise Forbidden("the ordering clinic or the centre reading the order links its study")


OPERATION = Operation(
    code="link",
    title="Link a study to its order (检查关联申请单)",
    description="Confirm which order a study answers when its accession number does not say "
    "it (or the server's candidate): the ImagingStudy is published basedOn the order and the "
    "order's reading task moves to 待阅片.",
    resources=("ImagingStudy",),
    instance_level=True,
    affects_state=True,
    parameters=(
        Param("order", "in", "Reference", "the ServiceRequest the study answers", 1),
        Param("return", "out", "ImagingStudy", "the study, linked", 1),
    ),
    mount=mount,
)
