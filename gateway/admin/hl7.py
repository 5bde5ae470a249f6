"""The HL7 message log for an organization's administrators: ``GET /admin/hl7-messages``
(``?state=failed``…: control id, type, version, peer, times, state, the reason of a failure,
the FHIR resources written, local codes without a LOINC mapping) and
``POST /admin/hl7-messages/{id}/$replay`` (applied again by the worker: 202)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from starlette.concurrency import run_in_threadpool

from gateway.admin.access import RowId, administrator, audit_admin
from gateway.auth.routes import Auth
from gateway.errors import BadRequest, NotFound
from gateway.routing import PrefixRouter
from gateway.transactions import run_in_transaction
from storage.fhir import instant
from storage.hl7 import messages_of, request_replay
from storage.json_codec import dump_bytes
from storage.models import Hl7State
from storage.platform import Platform


def router(platform: Platform) -> APIRouter:
    api = PrefixRouter(prefix="/admin/hl7-messages", tags=["administration"])

    @api.get("")
    async def log(requester: Auth, state: str | None = None, limit: int = 100) -> Response:
        if state is not None and state not in set(Hl7State):
            raise BadRequest(f"state is one of {', '.join(Hl7State)}")

        def work(session: Any) -> list[dict[str, Any]]:
            orgs = set(administrator(session, requester).orgs)
            return [
                {
                    "id": m.id, "peer": peer.id, "controlId": m.control_id,
                    "type": m.message_type, "version": m.version, "state": m.state,
                    "received": instant(m.received_at),
                    "processed": instant(m.processed_at) if m.processed_at else None,
                    "attempts": m.attempts, "error": m.error, "resources": m.resources or [],
                    "unmappedCodes": m.unmapped_codes or [],
                }
                for m, peer in messages_of(session, orgs, state, min(max(limit, 1), 1000))
            ]  # fmt: skip

        body = await run_in_threadpool(run_in_transaction, platform, work)
        return Response(dump_bytes(body), media_type="application/json")

    @api.post("/{message_id}/$replay", status_code=202)
    async def replay(requester: Auth, message_id: RowId) -> Response:
        def work(session: Any) -> None:
            orgs = set(administrator(session, requester).orgs)
            if request_replay(session, message_id, orgs) is None:
                raise NotFound(f"no HL7 message {message_id} from this organization's peers")
            audit_admin(session, requester, "replay", hl7_message=message_id)

        await run_in_threadpool(run_in_transaction, platform, work)
        body = {"replay": message_id, "status": "queued"}
        return Response(dump_bytes(body), status_code=202, media_type="application/json")

    return api
