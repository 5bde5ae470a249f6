"""Reads: ``read``, ``vread``, and the history of one resource or of a type.  A resource the
requester may not see answers 404 as one that does not exist (no probing); a deleted one 410."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from gateway.auth.routes import Auth
from gateway.errors import BadRequest, NotFound
from gateway.fhir import interactions, search
from gateway.fhir.context import Fhir
from gateway.fhir.http import (
    check_format,
    fhir_json,
    history_entry,
    resource_response,
    whole_number,
)
from gateway.fhir.openapi import ResourceType
from gateway.fhir.rest import audit
from storage.fhir import StoredResource
from storage.fhir import store as fhir_store


def mount(api: APIRouter, fhir: Fhir) -> None:
    @api.get("/{resource_type}/_history")
    async def type_history(
        request: Request, requester: Auth, resource_type: ResourceType
    ) -> Response:
        check_format(request)
        since_text = request.query_params.get("_since")
        count = whole_number(request.query_params.get("_count", "100"))
        if count is None:
            raise BadRequest("_count must be a whole number")
        count = min(count, search.MAX_COUNT)
        try:
            since = (
                datetime.fromisoformat(since_text.replace("Z", "+00:00")) if since_text else None
            )
        except ValueError:
            raise BadRequest("_since must be a FHIR instant") from None
        if since is not None and since.tzinfo is None:
            raise BadRequest("_since must carry a time zone")

        def versions(session: Session) -> list[StoredResource]:
            viewer = interactions.viewer_of(session, requester)
            return fhir_store.type_history(session, resource_type, viewer, since=since, count=count)

        found = await fhir.access(requester, resource_type, "history-type", versions) or []
        return fhir_json(
            {
                "resourceType": "Bundle",
                "type": "history",
                "total": len(found),
                "entry": [history_entry(request, stored) for stored in found],
            }
        )

    @api.get("/{resource_type}/{resource_id:fhir_id}")
    async def read(
        request: Request, requester: Auth, resource_type: ResourceType, resource_id: str
    ) -> Response:
        check_format(request)
        if resource_type in interactions.SERVER_RECORDED:
            interactions.authorize(requester, resource_type, "r")
            return await audit.read(fhir, requester, resource_id)
        stored = await fhir.current(requester, resource_type, resource_id, "read")
        return resource_response(stored)

    @api.get("/{resource_type}/{resource_id:fhir_id}/_history/{version_id}")
    async def vread(
        request: Request,
        requester: Auth,
        resource_type: ResourceType,
        resource_id: str,
        version_id: int,
    ) -> Response:
        check_format(request)
        stored = await fhir.found(
            requester,
            resource_type,
            "vread",
            lambda s: fhir_store.vread(s, resource_type, resource_id, version_id),
            missing=f"{resource_type}/{resource_id} has no version {version_id}",
            deleted=f"version {version_id} of {resource_type}/{resource_id} is its deletion",
            id=resource_id,
            version=version_id,
        )
        return resource_response(stored)

    @api.get("/{resource_type}/{resource_id:fhir_id}/_history")
    async def instance_history(
        request: Request, requester: Auth, resource_type: ResourceType, resource_id: str
    ) -> Response:
        check_format(request)

        def versions(session: Session) -> list[StoredResource]:
            return fhir_store.history(session, resource_type, resource_id)

        found = await fhir.access(
            requester, resource_type, "history-instance", versions, id=resource_id
        )
        if not found:
            raise NotFound(f"{resource_type}/{resource_id} is not known")
        return fhir_json(
            {
                "resourceType": "Bundle",
                "type": "history",
                "total": len(found),
                "entry": [history_entry(request, stored) for stored in found],
            }
        )
