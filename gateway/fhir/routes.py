"""FHIR R4 REST (``/fhir``): what is served so far — create, read, vread, update (``If-Match``),
delete (history kept) and instance history of the supported types, validated before every
write, and the CapabilityStatement that says exactly that."""

from __future__ import annotations

from datetime import datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

import jsonpatch
from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from fhir_profiles.profiles import known as known_profile
from fhir_profiles.profiles import profiles_by_type
from fhir_profiles.search_values import reference_targets, search_parameter_codes
from fhir_profiles.validation import SUPPORTED_TYPES
from gateway.auth.routes import Auth, public_base
from gateway.auth.tokens import Requester
from gateway.errors import (
    BadRequest,
    Gone,
    NotAcceptable,
    NotFound,
    PreconditionFailed,
    ServiceUnavailable,
    Unprocessable,
    UnsupportedMediaType,
)
from gateway.fhir import audit_events, bundle, interactions, search, subscriptions, websocket
from gateway.fhir.outcome import FHIR_JSON, information
from gateway.fhir.validator import Validator
from storage.audit import AuditQuery, find_records, get_record
from storage.db import transaction
from storage.errors import StorageError
from storage.fhir import StoredResource, instant, new_id, referencing
from storage.fhir import search as fhir_search
from storage.fhir import store as fhir_store
from storage.json_codec import dump_bytes, loads
from storage.platform import Platform

PREFIX = "/fhir"
INTERACTIONS = (
    "read", "vread", "update", "patch", "delete", "history-instance", "history-type", "create",
    "search-type",
)  # fmt: skip
SYSTEM_INTERACTIONS = ("transaction", "batch")
JSON_TYPES = ("application/fhir+json", "application/json", "application/json+fhir", "*/*")


def _check_format(request: Request) -> None:
    wanted = request.query_params.get("_format") or request.headers.get("accept") or "*/*"
    if not any(kind in wanted for kind in (*JSON_TYPES, "json", "application/*")):
        raise NotAcceptable("this server speaks FHIR JSON only (application/fhir+json)")


def _resource_response(stored: StoredResource) -> Response:
    return Response(
        dump_bytes(stored.content),
        media_type=FHIR_JSON,
        headers={
            "ETag": f'W/"{stored.version_id}"',
            "Last-Modified": format_datetime(stored.last_updated, usegmt=True),
        },
    )


def router(platform: Platform, validation: Validator) -> APIRouter:
    api = APIRouter(prefix=PREFIX, tags=["FHIR"])
    checked = platform.settings.fhir_check_references

    async def access(
        requester: Requester,
        resource_type: str,
        action: str,
        find: Any,
        **entities: Any,
    ) -> Any:
        interactions.authorize(requester, resource_type, "r")

        def work() -> Any:
            with transaction(platform.sessions, relaxed=True) as session:
                found = find(session)
                items = found if isinstance(found, list) else [found] if found else []
                # Versions of one resource: the policy is asked once per resource.
                distinct = {(s.resource_type, s.id): s for s in items}.values()
                visible = bool(items) and all(
                    interactions.sees(session, requester, s) for s in distinct
                )
                outcome = "success" if visible else "not_found"
                interactions.audit_fhir(
                    session, requester, action, resource_type, outcome, **entities
                )
                return found if visible else None

        try:
            return await run_in_threadpool(work)
        except StorageError as exc:
            raise ServiceUnavailable("storage unavailable, try again later") from exc

    required = platform.settings.fhir_required_profiles

    def profiles_of(resource_type: str) -> dict[str, Any]:
        """``profile`` (what every write must conform to, when one is required) and
        ``supportedProfile`` (Yilian's profiles of the type)."""
        fields: dict[str, Any] = {}
        if len(required.get(resource_type, [])) == 1:
            fields["profile"] = required[resource_type][0]
        if supported := profiles_by_type().get(resource_type):
            fields["supportedProfile"] = supported
        return fields

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
                    "extension": [
                        {
                            "url": "http://hl7.org/fhir/StructureDefinition/capabilitystatement-websocket",
                            "valueUri": public_base(request, platform).replace("http", "ws", 1)
                            + websocket.PATH,
                        }
                    ],
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
                        *(
                            {
                                "type": resource_type,
                                **profiles_of(resource_type),
                                "versioning": "versioned",
                                "readHistory": True,
                                "updateCreate": True,
                                "conditionalCreate": True,
                                "conditionalUpdate": True,
                                "conditionalDelete": "single",
                                "searchParam": [
                                    {"name": code, "type": kind}
                                    for code, kind in {
                                        **search_parameter_codes(resource_type),
                                        "_lastUpdated": "date",
                                    }.items()
                                ],
                                "operation": [
                                    {
                                        "name": "validate",
                                        "definition": "http://hl7.org/fhir/OperationDefinition/Resource-validate",
                                    },
                                    *(
                                        [
                                            {
                                                "name": "everything",
                                                "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything",
                                            }
                                        ]
                                        if resource_type == "Patient"
                                        else []
                                    ),
                                ],
                                "interaction": [{"code": code} for code in INTERACTIONS],
                            }
                            for resource_type in SUPPORTED_TYPES
                            if resource_type not in interactions.SERVER_RECORDED
                        ),
                        *(
                            {
                                "type": resource_type,
                                "documentation": "the access log, recorded by the server",
                                "searchParam": [
                                    {"name": code, "type": kind}
                                    for code, kind in audit_events.SEARCH_PARAMETERS.items()
                                ],
                                "interaction": [{"code": "read"}, {"code": "search-type"}],
                            }
                            for resource_type in sorted(interactions.SERVER_RECORDED)
                        ),
                    ],
                    "interaction": [{"code": code} for code in SYSTEM_INTERACTIONS],
                }
            ],
        }
        return Response(dump_bytes(statement), media_type=FHIR_JSON)

    async def audit_search(
        request: Request, requester: Requester, params: list[tuple[str, str]]
    ) -> Response:
        def work() -> tuple[list[dict[str, Any]], AuditQuery]:
            with transaction(platform.sessions, relaxed=True) as session:
                viewer = interactions.viewer_of(session, requester)
                query = audit_events.parse_query(params, viewer.orgs)
                rows = find_records(session, query)
                interactions.audit_fhir(
                    session, requester, "search-type", "AuditEvent", count=len(rows)
                )
                return [audit_events.as_audit_event(row) for row in rows], query

        events, query = await run_in_threadpool(work)
        base = f"{str(request.base_url).rstrip('/')}{PREFIX}"
        links = [{"relation": "self", "url": str(request.url)}]
        if len(events) == query.limit:
            following = [(k, v) for k, v in params if k != "_offset"]
            following.append(("_offset", str(query.offset + query.limit)))
            links.append({"relation": "next", "url": f"{base}/AuditEvent?{urlencode(following)}"})
        bundle = {
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
        return Response(dump_bytes(bundle), media_type=FHIR_JSON)

    async def audit_read(requester: Requester, event_id: str) -> Response:
        def work() -> dict[str, Any] | None:
            with transaction(platform.sessions, relaxed=True) as session:
                viewer = interactions.viewer_of(session, requester)
                row = (
                    get_record(session, int(event_id), viewer.orgs) if event_id.isdigit() else None
                )
                interactions.audit_fhir(
                    session, requester, "read", "AuditEvent", "success" if row else "not_found",
                    id=event_id,
                )  # fmt: skip
                return audit_events.as_audit_event(row) if row else None

        event = await run_in_threadpool(work)
        if event is None:
            raise NotFound(f"AuditEvent/{event_id} is not known")
        return Response(dump_bytes(event), media_type=FHIR_JSON)

    async def search_type(
        request: Request, requester: Requester, resource_type: str, params: list[tuple[str, str]]
    ) -> Response:
        _check_format(request)
        strict = "handling=strict" in request.headers.get("prefer", "")
        interactions.authorize(requester, resource_type, "s")
        if resource_type in interactions.SERVER_RECORDED:
            return await audit_search(request, requester, params)
        query = search.parse(resource_type, params, strict)

        def work() -> tuple[list[StoredResource], int | None, list[StoredResource]]:
            with transaction(platform.sessions, relaxed=True) as session:
                viewer = interactions.viewer_of(session, requester)
                found, total = fhir_search.search(
                    session,
                    resource_type,
                    query.criteria,
                    viewer,
                    count=0 if query.only_count else query.count,
                    offset=query.offset,
                    last_updated=query.last_updated,
                    with_total=query.with_total or query.only_count,
                    sort=query.sort,
                )
                extra = search.included(
                    session, query, found, viewer, lambda kind: requester.scopes.allows(kind, "r")
                )
                interactions.audit_fhir(
                    session,
                    requester,
                    "search-type",
                    resource_type,
                    matches=total if total is not None else len(found),
                    ids=[s.id for s in found],
                    included=[f"{s.resource_type}/{s.id}" for s in extra],
                )
                return found, total, extra

        try:
            found, total, extra = await run_in_threadpool(work)
        except StorageError as exc:
            raise ServiceUnavailable("storage unavailable, try again later") from exc
        base = f"{str(request.base_url).rstrip('/')}{PREFIX}"
        bundle = search.searchset(base, resource_type, params, query, found, total, extra)
        return Response(dump_bytes(bundle), media_type=FHIR_JSON)

    @api.get("/{resource_type}/_history")
    async def type_history(request: Request, requester: Auth, resource_type: str) -> Response:
        _check_format(request)
        since_text = request.query_params.get("_since")
        count_text = request.query_params.get("_count", "100")
        if not count_text.isdigit():
            raise BadRequest("_count must be a whole number")
        count = min(int(count_text), search.MAX_COUNT)
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

        found = await access(requester, resource_type, "history-type", versions)
        bundle = {
            "resourceType": "Bundle",
            "type": "history",
            "total": len(found or []),
            "entry": [_history_entry(request, stored) for stored in found or []],
        }
        return Response(dump_bytes(bundle), media_type=FHIR_JSON)

    @api.get("/Subscription/{subscription_id}/$status")
    async def subscription_status(
        request: Request, requester: Auth, subscription_id: str
    ) -> Response:
        """Delivery state of a Subscription's notifications (pending, done, dead, last error)."""
        _check_format(request)
        found = await access(
            requester,
            "Subscription",
            "status",
            lambda s: fhir_store.read(s, "Subscription", subscription_id),
            id=subscription_id,
        )
        if found is None or found.deleted:
            raise NotFound(f"Subscription/{subscription_id} is not known")
        status = await run_in_threadpool(subscriptions.delivery_status, platform, subscription_id)
        return Response(dump_bytes(status), media_type=FHIR_JSON)

    @api.get("/Patient/{patient_id}/$everything")
    async def everything(request: Request, requester: Auth, patient_id: str) -> Response:
        """The patient and every visible resource that refers to them (``patient``/``subject``
        parameters that target Patient), of the types the requester may read."""
        _check_format(request)
        patient = await access(
            requester,
            "Patient",
            "everything",
            lambda s: fhir_store.read(s, "Patient", patient_id),
            id=patient_id,
        )
        if patient is None or patient.deleted:
            raise NotFound(f"Patient/{patient_id} is not known")

        def related(session: Session) -> list[StoredResource]:
            viewer = interactions.viewer_of(session, requester)
            found: list[StoredResource] = []
            for kind in SUPPORTED_TYPES:
                if not requester.scopes.allows(kind, "r"):
                    continue
                for code in ("patient", "subject"):
                    if "Patient" in reference_targets(kind, code):
                        found += referencing(session, kind, code, [f"Patient/{patient_id}"], viewer)
            return list({(r.resource_type, r.id): r for r in found}.values())

        found = await in_transaction(related)
        base = f"{str(request.base_url).rstrip('/')}{PREFIX}"
        bundle = {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": 1 + len(found),
            "entry": [
                {"fullUrl": f"{base}/{r.resource_type}/{r.id}", "resource": r.content}
                for r in [patient, *found]
            ],
        }
        return Response(dump_bytes(bundle), media_type=FHIR_JSON)

    @api.get("/{resource_type}")
    async def search_get(request: Request, requester: Auth, resource_type: str) -> Response:
        params = list(request.query_params.multi_items())
        return await search_type(request, requester, resource_type, params)

    @api.post("/{resource_type}/_search")
    async def search_post(request: Request, requester: Auth, resource_type: str) -> Response:
        form = await request.form()
        params = [
            *request.query_params.multi_items(),
            *((k, str(v)) for k, v in form.multi_items()),
        ]
        return await search_type(request, requester, resource_type, params)

    @api.get("/{resource_type}/{resource_id}")
    async def read(
        request: Request, requester: Auth, resource_type: str, resource_id: str
    ) -> Response:
        _check_format(request)
        if resource_type in interactions.SERVER_RECORDED:
            interactions.authorize(requester, resource_type, "r")
            return await audit_read(requester, resource_id)
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
        if stored.deleted:
            raise Gone(f"version {version_id} of {resource_type}/{resource_id} is its deletion")
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
        return Response(dump_bytes(bundle), media_type=FHIR_JSON)

    def run_in_transaction(work: Any) -> Any:
        with transaction(platform.sessions) as session:
            return work(session)

    async def in_transaction(work: Any) -> Any:
        try:
            return await run_in_threadpool(run_in_transaction, work)
        except StorageError as exc:
            raise ServiceUnavailable("storage unavailable, try again later") from exc

    @api.post("")
    @api.post("/", include_in_schema=False)
    async def batch_or_transaction(request: Request, requester: Auth) -> Response:
        _check_format(request)
        body = await _json_body(request)
        kind, entries = await run_in_threadpool(bundle.parse, body)
        run = bundle.transaction_response if kind == "transaction" else bundle.batch_response
        try:
            answer = await run_in_threadpool(
                run, entries, run_in_transaction, requester, checked, validation.prepared
            )
        except StorageError as exc:
            raise ServiceUnavailable("storage unavailable, try again later") from exc
        return Response(dump_bytes(answer), media_type=FHIR_JSON)

    @api.post("/{resource_type}/$validate")
    async def validate_resource(request: Request, requester: Auth, resource_type: str) -> Response:
        """``$validate``: the resource (or a Parameters with a ``resource``) is checked, never
        stored; the answer is an OperationOutcome, 200 when valid, 422 with its problems."""
        _check_format(request)
        interactions.authorize(requester, resource_type, "r")
        body = await _json_body(request)
        profiles = request.query_params.getlist("profile")
        if isinstance(body, dict) and body.get("resourceType") == "Parameters":
            parameters = [p for p in body.get("parameter", []) if isinstance(p, dict)]
            given = [p.get("resource") for p in parameters if p.get("name") == "resource"]
            profiles += [p["valueUri"] for p in parameters if p.get("name") == "profile"]
            profiles += [p["valueCanonical"] for p in parameters if p.get("name") == "profile"
                         and "valueCanonical" in p]  # fmt: skip
            body = given[0] if given else None
        unknown = [url for url in profiles if not isinstance(url, str) or not known_profile(url)]
        if unknown:
            raise BadRequest(f"unknown profile {unknown[0]!r} (this server knows its own)")
        validation.require_valid(body, resource_type, resource_type, profiles)
        body = dump_bytes(information(f"{resource_type} is valid"))
        return Response(body, media_type=FHIR_JSON)

    @api.post("/{resource_type}")
    async def create(request: Request, requester: Auth, resource_type: str) -> Response:
        _check_format(request)
        interactions.authorize(requester, resource_type, "c")
        resource = await _body(request, resource_type, validation)
        fresh = {**resource, "id": new_id()}
        condition = request.headers.get("if-none-exist")
        criteria = None
        if condition is not None:
            criteria = search.parse(resource_type, list(parse_qsl(condition)), strict=True)

        def create_unless_found(session: Session) -> tuple[StoredResource, int]:
            if criteria is not None:
                found = single_match(session, requester, resource_type, criteria)
                if found:
                    return found, 200  # already there: nothing is written
            return interactions.create(session, requester, fresh, check=checked), 201

        stored, status = await in_transaction(create_unless_found)
        return _written(request, stored, status)

    @api.put("/{resource_type}/{resource_id}")
    async def update(
        request: Request, requester: Auth, resource_type: str, resource_id: str
    ) -> Response:
        _check_format(request)
        interactions.authorize(requester, resource_type, "u")
        resource = await _body(request, resource_type, validation)
        if resource.get("id") != resource_id:
            raise BadRequest("the resource's id must be the id in the URL")
        expected = _if_match(request)
        stored = await in_transaction(
            lambda s: interactions.update(s, requester, resource, expected, check=checked)
        )
        return _written(request, stored, 201 if stored.version_id == 1 else 200)

    @api.put("/{resource_type}")
    async def conditional_update(request: Request, requester: Auth, resource_type: str) -> Response:
        """``PUT /Type?criteria``: no match creates, one match is updated, several are 412."""
        _check_format(request)
        interactions.authorize(requester, resource_type, "u")
        params = list(request.query_params.multi_items())
        if not params:
            raise BadRequest("a conditional update needs search criteria in the URL")
        query = search.parse(resource_type, params, strict=True)
        resource = await _body(request, resource_type, validation)

        def update_matching(session: Session) -> StoredResource:
            found = single_match(session, requester, resource_type, query)
            target = found.id if found else resource.get("id") or new_id()
            if resource.get("id") not in (None, target):
                raise BadRequest("the resource's id is not the id of the matching resource")
            return interactions.update(
                session, requester, {**resource, "id": target}, check=checked
            )

        stored = await in_transaction(update_matching)
        return _written(request, stored, 201 if stored.version_id == 1 else 200)

    @api.patch("/{resource_type}/{resource_id}")
    async def patch(
        request: Request, requester: Auth, resource_type: str, resource_id: str
    ) -> Response:
        """JSON Patch (RFC 6902, ``application/json-patch+json``), validated like any update."""
        _check_format(request)
        interactions.authorize(requester, resource_type, "u")
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media != "application/json-patch+json":
            raise UnsupportedMediaType("send the patch as application/json-patch+json")
        try:
            operations = jsonpatch.JsonPatch(loads(await request.body()))
        except (ValueError, jsonpatch.InvalidJsonPatch) as exc:
            raise BadRequest(f"not a JSON Patch document: {exc}") from None
        expected = _if_match(request)

        def apply(session: Session) -> StoredResource:
            current = interactions.read(session, requester, resource_type, resource_id)
            assert current.content is not None
            try:
                patched = operations.apply(current.content)
            except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
                raise Unprocessable("the patch cannot be applied", [("", str(exc))]) from None
            if patched.get("resourceType") != resource_type or patched.get("id") != resource_id:
                raise Unprocessable("a patch may not change resourceType or id", [])
            validation.require_valid(patched, resource_type, f"the patched {resource_type}")
            version = expected if expected is not None else current.version_id
            return interactions.update(session, requester, patched, version, check=checked)

        stored = await in_transaction(apply)
        return _written(request, stored, 200)

    @api.delete("/{resource_type}")
    async def conditional_delete(request: Request, requester: Auth, resource_type: str) -> Response:
        """``DELETE /Type?criteria``: the one match is deleted (none: nothing to do; several:
        412, as servers that delete one at a time answer)."""
        interactions.authorize(requester, resource_type, "d")
        params = list(request.query_params.multi_items())
        if not params:
            raise BadRequest("a conditional delete needs search criteria in the URL")
        query = search.parse(resource_type, params, strict=True)

        def delete_matching(session: Session) -> None:
            found = single_match(session, requester, resource_type, query)
            if found is not None:
                interactions.delete(session, requester, resource_type, found.id)

        await in_transaction(delete_matching)
        return Response(status_code=204)

    @api.delete("/{resource_type}/{resource_id}")
    async def delete(
        request: Request, requester: Auth, resource_type: str, resource_id: str
    ) -> Response:
        await in_transaction(
            lambda s: interactions.delete(s, requester, resource_type, resource_id)
        )
        return Response(status_code=204)

    return api


def single_match(
    session: Session, requester: Requester, resource_type: str, query: search.SearchRequest
) -> StoredResource | None:
    """The one resource a conditional interaction's criteria match (412 when several do)."""
    viewer = interactions.viewer_of(session, requester)
    found, _ = fhir_search.search(
        session, resource_type, query.criteria, viewer, count=2, with_total=False
    )
    if len(found) > 1:
        raise PreconditionFailed(f"the criteria match several {resource_type}")
    return found[0] if found else None


async def _json_body(request: Request) -> Any:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in ("application/fhir+json", "application/json", "application/json+fhir"):
        raise UnsupportedMediaType("send the resource as application/fhir+json")
    try:
        return loads(await request.body())
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"the body is not valid JSON: {exc}") from None


async def _body(request: Request, resource_type: str, validation: Validator) -> dict[str, Any]:
    resource = await _json_body(request)
    if not isinstance(resource, dict) or resource.get("resourceType") != resource_type:
        found = resource.get("resourceType") if isinstance(resource, dict) else None
        raise BadRequest(f"expected a {resource_type} resource, got {found!r}")
    validation.require_valid(resource, resource_type, resource_type)
    return resource


def _if_match(request: Request) -> int | None:
    header = request.headers.get("if-match")
    if header is None:
        return None
    text = header.strip().removeprefix("W/").strip('"')
    if not text.isdigit():
        raise BadRequest('If-Match must be a version ETag such as W/"3"')
    return int(text)


def _written(request: Request, stored: StoredResource, status: int) -> Response:
    """The answer to a write, as ``Prefer: return=`` asks (representation by default)."""
    location = (
        f"{str(request.base_url).rstrip('/')}{PREFIX}/{stored.resource_type}/{stored.id}"
        f"/_history/{stored.version_id}"
    )
    headers = {
        "Location": location,
        "ETag": f'W/"{stored.version_id}"',
        "Last-Modified": format_datetime(stored.last_updated, usegmt=True),
    }
    prefer = request.headers.get("prefer", "")
    if "return=minimal" in prefer:
        return Response(status_code=status, headers=headers)
    if "return=OperationOutcome" in prefer:
        body = information(
            f"{stored.resource_type}/{stored.id} stored as version {stored.version_id}"
        )
    else:
        body = stored.content or {}
    return Response(dump_bytes(body), status, headers, media_type=FHIR_JSON)


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
