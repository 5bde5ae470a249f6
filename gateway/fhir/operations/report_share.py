"""``POST /fhir/DiagnosticReport/{id}/$share`` (``days``, default 30): a link for the patient
to a signed report and its key images (云胶片) — an expiring, revocable URL and its QR code,
opened without an account (:mod:`gateway.patient_link`); ``$unshare`` revokes it."""

from __future__ import annotations

import base64
import io
from typing import Any

import segno
from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from gateway.auth.routes import Auth, public_base
from gateway.errors import BadRequest
from gateway.fhir import interactions, openapi
from gateway.fhir.context import Fhir
from gateway.fhir.http import body_bytes, parameter_values
from gateway.fhir.operation import Operation, Param
from gateway.patient_link import PATH, shareable
from gateway.transactions import json_answer
from storage.clinical import patient_links
from storage.fhir import instant

MAX_DAYS = 180


def mount(api: APIRouter, fhir: Fhir) -> None:
    @api.post("/DiagnosticReport/{report_id}/$share", openapi_extra=openapi.PARAMETERS)
    async def share(request: Request, requester: Auth, report_id: str) -> Response:
        interactions.authorize(requester, "DiagnosticReport", "r")
        days = _days(await body_bytes(request))
        base = public_base(request, fhir.platform)

        def work(session: Session) -> dict[str, Any]:
            shareable(session, requester, report_id)
            link, token = patient_links.give(
                session, report_id, requester.org_id, requester.subject, days
            )
            interactions.audit_fhir(session, requester, "share", "DiagnosticReport",
                                    id=report_id, link=link.id)  # fmt: skip
            url = f"{base}{PATH}/{token}"
            svg = io.BytesIO()
            segno.make(url, error="m").save(svg, kind="svg", scale=4, border=2)
            return {"resourceType": "Parameters", "parameter": [
                {"name": "link", "valueString": link.id},
                {"name": "url", "valueUrl": url},
                {"name": "expires", "valueInstant": instant(link.expires_at)},
                {"name": "qr", "valueAttachment": {
                    "contentType": "image/svg+xml", "title": "云胶片二维码",
                    "data": base64.b64encode(svg.getvalue()).decode()}},
            ]}  # fmt: skip

        return await json_answer(fhir.platform, work)


def _days(body: bytes) -> int:
    days = parameter_values(body).get("days", 30)
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_DAYS:
        raise BadRequest(f"days is a whole number from 1 to {MAX_DAYS}")
    return days


OPERATION = Operation(
    code="share",
    title="Share a signed report with the patient (云胶片)",
    description="A link for the patient to the signed report, its PDF and rendered key images, "
    "opened without an account until it expires or is revoked ($unshare); every opening is "
    "audited.  Answers the link's id, its URL, when it expires and its QR code (SVG).",
    resources=("DiagnosticReport",),
    instance_level=True,
    affects_state=True,
    parameters=(
        Param("days", "in", "integer", f"how long the link works (1-{MAX_DAYS}, default 30)"),
        Param("link", "out", "string", "the link's id (to revoke it)", 1),
        Param("url", "out", "url", "the address to give the patient", 1),
        Param("expires", "out", "instant", "when it stops working", 1),
        Param("qr", "out", "Attachment", "the address as a QR code (SVG)", 1),
    ),
    mount=mount,
)
