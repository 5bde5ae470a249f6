"""FHIR R4 REST (``/fhir``): what is served so far — read, vread and instance history of the
resources Yilian writes itself (ImagingStudy of stable studies, the DICOMweb Endpoint), and the
CapabilityStatement that says exactly that."""

from __future__ import annotations

import json
from email.utils import format_datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from gateway.auth.routes import Auth
from gateway.auth.tokens import Requester
from gateway.errors import Forbidden, Gone, NotAcceptable, NotFound, ServiceUnavailable
from gateway.fhir.outcome import FHIR_JSON
from storage import fhir_store
from storage.audit import audit
from storage.db import transaction
from storage.errors import StorageError
from storage.fhir_store import StoredResource, instant
from storage.platform import Platform
from storage.policy import visible_orgs

PREFIX = "/fhir"
READABLE = ("Endpoint", "ImagingStudy")
JSON_TYPES = ("application/fhir+json", "application/json", "application/json+fhir", "*/*")


def _check_format(request: Request) -> None:
    wanted = request.query_params.get("_format") or request.headers.get("accept") or "*/*"
    if not any(kind in wanted for kind in (*JSON_TYPES, "json", "application/*")):
        raise NotAcceptable("this server speaks FHIR JSON only (application/fhir+json)")


def _resource_response(stored: StoredResource) -> Response:
    return Response(
        json.dumps(stored.content, ensure_ascii=False),
        media_type=FHIR_JSON,
        headers={
            "ETag": f'W/"{stored.version_id}"',
            "Last-Modified": format_datetime(stored.last_updated, usegmt=True),
        },
    )


def router(platform: Platform) -> APIRouter:
    api = APIRouter(prefix=PREFIX, tags=["FHIR"])

    async def access(
        requester: Requester,
        resource_type: str,
        action: str,
        find: Any,
        **entities: Any,
    ) -> Any:
        if resource_type not in READABLE:
            raise NotFound(f"resource type {resource_type} is not supported here")
        if not requester.scopes.allows(resource_type, "r"):
            raise Forbidden(f"scope {resource_type}.r required")

        def work() -> Any:
            with transaction(platform.sessions, relaxed=True) as session:
                orgs = visible_orgs(session, requester.org_id)
                found = find(session)
                items = found if isinstance(found, list) else [found] if found else []
                visible = all(s.owner_org_id in (None, *orgs) for s in items) and bool(items)
                audit(
                    session,
                    channel="fhir",
                    actor=requester.subject,
                    actor_org_id=requester.org_id,
                    action=action,
                    outcome="success" if visible else "not_found",
                    resource_type=resource_type,
                    **entities,
                )
                return found if visible else None

        try:
            return await run_in_threadpool(work)
        except StorageError as exc:
            raise ServiceUnavailable("storage unavailable, try again later") from exc

    @api.get("/metadata")
    async def capability_statement(request: Request) -> Response:
        _check_format(request)
        statement = {
            "resourceType": "CapabilityStatement",
            "status": "active",
            "date": "2026-11-23",
            "kind": "instance",
            "software": {"name": "Yilian 医联", "version": "0.1.0"},
            "implementation": {"description": "Yilian FHIR API", "url": str(request.base_url)},
            "fhirVersion": "4.0.1",
            "format": ["application/fhir+json"],
            "rest": [
                {
                    "mode": "server",
                    "security": {
                        "service": [
                            {
                                "coding": [
                                    {
                                        "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                        "code": "SMART-on-FHIR",
                                    }
                                ]
                            }
                        ]
                    },
                    "resource": [
                        {
                            "type": resource_type,
                            "versioning": "versioned",
                            "readHistory": True,
                            "interaction": [
                                {"code": "read"},
                                {"code": "vread"},
                                {"code": "history-instance"},
                            ],
                        }
                        for resource_type in READABLE
                    ],
                }
            ],
        }
        return Response(json.dumps(statement, ensure_ascii=False), media_type=FHIR_JSON)

    @api.get("/{resource_type}/{resource_id}")
    async def read(
        request: Request, requester: Auth, resource_type: str, resource_id: str
    ) -> Response:
        _check_format(request)
        stored = await access(
            requester,
            resource_type,
            "read",
            lambda s: fhir_store.read(s, resource_type, resource_id),
            id=resource_id,
        )
        if stored is None:
            raise NotFound(f"{resource_type}/{resource_id} is not known")
        if stored.deleted:
            raise Gone(f"{resource_type}/{resource_id} was deleted")
        return _resource_response(stored)

    @api.get("/{resource_type}/{resource_id}/_history/{version_id}")
    async def vread(
        request: Request, requester: Auth, resource_type: str, resource_id: str, version_id: int
    ) -> Response:
        _check_format(request)
        stored = await access(
            requester,
            resource_type,
            "vread",
            lambda s: fhir_store.vread(s, resource_type, resource_id, version_id),
            id=resource_id,
            version=version_id,
        )
        if stored is None:
            raise NotFound(f"{resource_type}/{resource_id} has no version {version_id}")
        return _resource_response(stored)

    @api.get("/{resource_type}/{resource_id}/_history")
    async def instance_history(
        request: Request, requester: Auth, resource_type: str, resource_id: str
    ) -> Response:
        _check_format(request)

        def versions(session: Session) -> list[StoredResource]:
            return fhir_store.history(session, resource_type, resource_id)

        found = await access(requester, resource_type, "history-instance", versions, id=resource_id)
        if not found:
            raise NotFound(f"{resource_type}/{resource_id} is not known")
        bundle = {
            "resourceType": "Bundle",
            "type": "history",
            "total": len(found),
            "entry": [_history_entry(request, stored) for stored in found],
        }
        return Response(json.dumps(bundle, ensure_ascii=False), media_type=FHIR_JSON)

    return api


def _history_entry(request: Request, stored: StoredResource) -> dict[str, Any]:
    url = f"{stored.resource_type}/{stored.id}"
    entry: dict[str, Any] = {
        "fullUrl": f"{str(request.base_url).rstrip('/')}{PREFIX}/{url}",
        "request": {"method": "DELETE" if stored.deleted else "PUT", "url": url},
        "response": {
            "status": "204" if stored.deleted else "200",
            "etag": f'W/"{stored.version_id}"',
            "lastModified": instant(stored.last_updated),
        },
    }
    if stored.content is not None and not stored.deleted:
        entry["resource"] = stored.content
    return entry
