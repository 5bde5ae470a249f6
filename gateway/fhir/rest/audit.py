"""``AuditEvent`` read and search: the access log is recorded by the server (never written by
clients) and served from its own register, limited to the organizations the requester sees."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import Request, Response
from sqlalchemy.orm import Session

from gateway.auth.tokens import Requester
from gateway.errors import NotFound
from gateway.fhir import audit_events, interactions
from gateway.fhir.context import Fhir
from gateway.fhir.http import fhir_base, fhir_json, whole_number
from storage.audit import AuditQuery, find_records, get_record


async def search(
    fhir: Fhir, request: Request, requester: Requester, params: list[tuple[str, str]]
) -> Response:
    def work(session: Session) -> tuple[list[dict[str, Any]], AuditQuery]:
        viewer = interactions.viewer_of(session, requester)
        query = audit_events.parse_query(params, viewer.orgs)
        rows = find_records(session, query)
        interactions.audit_fhir(session, requester, "search-type", "AuditEvent", count=len(rows))
        return [audit_events.as_audit_event(row) for row in rows], query

    events, query = await fhir.read_only(work)
    base = fhir_base(request)
    links = [{"relation": "self", "url": str(request.url)}]
    if len(events) == query.limit:
        following = [(k, v) for k, v in params if k != "_offset"]
        following.append(("_offset", str(query.offset + query.limit)))
        links.append({"relation": "next", "url": f"{base}/AuditEvent?{urlencode(following)}"})
    return fhir_json(
        {
            "resourceType": "Bundle",
            "type": "searchset",
            "link": links,
            "entry": [
                {
                    "fullUrl": f"{base}/AuditEvent/{event['id']}",
                    "resource": event,
                    "search": {"mode": "match"},
                }
                for event in events
            ],
        }
    )


async def read(fhir: Fhir, requester: Requester, event_id: str) -> Response:
    def work(session: Session) -> dict[str, Any] | None:
        viewer = interactions.viewer_of(session, requester)
        number = whole_number(event_id, 2**63 - 1)
        row = get_record(session, number, viewer.orgs) if number is not None else None
        interactions.audit_fhir(
            session, requester, "read", "AuditEvent", "success" if row else "not_found",
            id=event_id,
        )  # fmt: skip
        return audit_events.as_audit_event(row) if row else None

    event = await fhir.read_only(work)
    if event is None:
        raise NotFound(f"AuditEvent/{event_id} is not known")
    return fhir_json(event)
