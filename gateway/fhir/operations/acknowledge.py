"""``POST /fhir/Communication/{id}/$acknowledge`` (Parameters ``readBack``: what the receiver
read back): the receiving organization confirms a critical alert — its read-back must repeat
the value (``gateway.workflow.read_back``; a 422 saying what is missing otherwise); the alert
Communication becomes ``completed`` with its ``received`` time, and a Communication
``inResponseTo`` it carries the read-back, from the person who confirmed, to the centre that
raised it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from gateway.auth.routes import Auth
from gateway.errors import BadRequest, Forbidden, NotFound, Unprocessable
from gateway.fhir import interactions, openapi, storing
from gateway.fhir.context import Fhir
from gateway.fhir.http import body_bytes, parameters_of
from gateway.fhir.operation import Operation, Param
from gateway.transactions import json_answer
from gateway.workflow.read_back import Expected, ReadBackMismatch, check, expected_of_result
from storage.clinical.critical_alerts import AlertError, acknowledge
from storage.fhir import instant, new_id
from storage.fhir import store as fhir_store
from storage.json_codec import loads
from storage.models import AlertState, CriticalAlert

READ_BACK = {
    "coding": [{"system": "http://terminology.hl7.org/CodeSystem/communication-category",
                "code": "notification", "display": "Notification"}],
    "text": "危急值复述",
}  # fmt: skip


def mount(api: APIRouter, fhir: Fhir) -> None:
    @api.post("/Communication/{alert_id}/$acknowledge", openapi_extra=openapi.PARAMETERS)
    async def acknowledge_alert(request: Request, requester: Auth, alert_id: str) -> Response:
        interactions.authorize(requester, "Communication", "u")
        try:
            read_back = _read_back(loads(await body_bytes(request) or b"{}"))
        except ValueError:
            raise BadRequest("the body is not JSON") from None

        def work(session: Session) -> dict[str, Any]:
            _check_read_back(session, alert_id, requester.org_id, read_back)
            try:
                alert = acknowledge(
                    session, alert_id, requester.org_id, requester.subject, read_back
                )
            except AlertError as exc:
                if "no such" in str(exc):
                    known = f"Communication/{alert_id} is not a critical alert known here"
                    raise NotFound(known) from None
                raise Forbidden(str(exc)) from None
            now = instant(datetime.now(UTC))
            current = fhir_store.read(session, "Communication", alert_id)
            assert current is not None
            assert current.content is not None
            done = {**current.content, "status": "completed", "received": now}
            storing.store(session, {k: v for k, v in done.items() if k != "meta"},
                               current.owner_org_id)  # fmt: skip
            response = {
                "resourceType": "Communication", "id": new_id(), "status": "completed",
                "inResponseTo": [{"reference": f"Communication/{alert_id}"}],
                "category": [READ_BACK],
                "subject": current.content.get("subject"),
                "about": current.content.get("about", []),
                "sender": {"reference": f"Organization/{requester.org_id}",
                           "display": requester.subject},
                "recipient": [{"reference": f"Organization/{alert.source_org_id}"}],
                "sent": now, "payload": [{"contentString": f"复述：{read_back}"}],
            }  # fmt: skip
            storing.store(session, {k: v for k, v in response.items() if v is not None},
                               requester.org_id, new=True)  # fmt: skip
            interactions.audit_fhir(session, requester, "update", "Communication", id=alert_id)
            return response

        return await json_answer(fhir.platform, work)


def _check_read_back(session: Session, alert_id: str, org_id: str, read_back: str) -> None:
    """The receiving organization's read-back must repeat the value (``workflow.read_back``);
    the raising centre, confirming the call itself once escalated back to it, says what it did."""
    alert = session.get(CriticalAlert, alert_id)
    if (
        alert is None
        or alert.state != AlertState.OPEN
        or alert.recipient_org_id != org_id
        or not read_back.strip()
    ):
        return  # acknowledge() refuses these with its own reasons
    expected = Expected(text=alert.summary)
    if alert.about.startswith("Observation/"):
        result = fhir_store.read(session, "Observation", alert.about.removeprefix("Observation/"))
        if result is not None and result.content is not None:
            expected = expected_of_result(result.content)
    try:
        check(expected, read_back)
    except ReadBackMismatch as exc:
        where = "Parameters.parameter.where(name='readBack')"
        raise Unprocessable(str(exc), [(where, str(exc))]) from None


def _read_back(body: Any) -> str:
    for parameter in parameters_of(body) or []:
        if parameter.get("name") == "readBack" and isinstance(parameter.get("valueString"), str):
            return parameter["valueString"]
    raise BadRequest("send a Parameters resource with readBack (valueString): what was read back")


OPERATION = Operation(
    code="acknowledge",
    title="Acknowledge a critical alert with read-back (危急值确认)",
    description="The receiving organization confirms a critical alert: the alert becomes "
    "completed and a Communication carries the read-back (复述) to the centre that raised it.",
    resources=("Communication",),
    instance_level=True,
    affects_state=True,
    parameters=(
        Param("readBack", "in", "string", "what the receiver read back (复述)", 1),
        Param("return", "out", "Communication", "the read-back Communication", 1),
    ),
    mount=mount,
)
