"""Writes: create (``If-None-Exist``), update (``If-Match``) and conditional update, JSON Patch,
delete and conditional delete, and transaction/batch Bundles.  Every body is validated before
anything is written, and each write is one database transaction."""

from __future__ import annotations

from functools import partial
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from gateway.auth.routes import Auth
from gateway.auth.tokens import Requester
from gateway.errors import BadRequest, PreconditionFailed
from gateway.fhir import bundle, interactions, openapi, search
from gateway.fhir.context import Fhir
from gateway.fhir.http import (
    check_format,
    fhir_json,
    if_match,
    json_body,
    resource_body,
    written,
)
from gateway.fhir.openapi import ResourceType
from storage.fhir import StoredResource, new_id
from storage.fhir import search as fhir_search


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


def criteria_in_url(request: Request, resource_type: str, what: str) -> search.SearchRequest:
    params = list(request.query_params.multi_items())
    if not params:
        raise BadRequest(f"{what} needs search criteria in the URL")
    return search.parse(resource_type, params, strict=True)


def mount(api: APIRouter, fhir: Fhir) -> None:
    @api.post("", openapi_extra=openapi.BUNDLE)
    @api.post("/", include_in_schema=False)
    async def batch_or_transaction(request: Request, requester: Auth) -> Response:
        check_format(request)
        body = await json_body(request)
        kind, entries = await run_in_threadpool(bundle.parse, body)
        prepare = fhir.validation.prepared
        if kind == "transaction":
            work = partial(
                bundle.transaction_response, entries, fhir.run, requester, fhir.checked, prepare
            )
        else:
            work = partial(
                bundle.batch_response,
                entries, fhir.run, fhir.read_now, requester, fhir.checked, prepare,
            )  # fmt: skip
        answer = await run_in_threadpool(work)
        return fhir_json(answer)

    @api.post("/{resource_type}", openapi_extra=openapi.RESOURCE)
    async def create(request: Request, requester: Auth, resource_type: ResourceType) -> Response:
        check_format(request)
        interactions.authorize(requester, resource_type, "c")
        resource = await resource_body(request, resource_type, fhir.validation)
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
            return interactions.create(session, requester, fresh, check=fhir.checked), 201

        stored, status = await fhir.write(create_unless_found)
        return written(request, stored, status)

    @api.put("/{resource_type}/{resource_id:fhir_id}", openapi_extra=openapi.RESOURCE)
    async def update(
        request: Request, requester: Auth, resource_type: ResourceType, resource_id: str
    ) -> Response:
        check_format(request)
        interactions.authorize(requester, resource_type, "u")
        resource = await resource_body(request, resource_type, fhir.validation)
        if resource.get("id") != resource_id:
            raise BadRequest("the resource's id must be the id in the URL")
        expected = if_match(request)
        stored = await fhir.write(
            lambda s: interactions.update(s, requester, resource, expected, check=fhir.checked)
        )
        return written(request, stored, 201 if stored.version_id == 1 else 200)

    @api.put("/{resource_type}", openapi_extra={**openapi.RESOURCE, **openapi.CONDITIONAL})
    async def conditional_update(
        request: Request, requester: Auth, resource_type: ResourceType
    ) -> Response:
        """``PUT /Type?criteria``: no match creates, one match is updated, several are 412."""
        check_format(request)
        interactions.authorize(requester, resource_type, "u")
        query = criteria_in_url(request, resource_type, "a conditional update")
        resource = await resource_body(request, resource_type, fhir.validation)

        def update_matching(session: Session) -> StoredResource:
            found = single_match(session, requester, resource_type, query)
            target = found.id if found else resource.get("id") or new_id()
            if resource.get("id") not in (None, target):
                raise BadRequest("the resource's id is not the id of the matching resource")
            return interactions.update(
                session, requester, {**resource, "id": target}, check=fhir.checked
            )

        stored = await fhir.write(update_matching)
        return written(request, stored, 201 if stored.version_id == 1 else 200)

    @api.delete("/{resource_type}", openapi_extra=openapi.CONDITIONAL)
    async def conditional_delete(
        request: Request, requester: Auth, resource_type: ResourceType
    ) -> Response:
        """``DELETE /Type?criteria``: the one match is deleted (none: nothing to do; several:
        412, as servers that delete one at a time answer)."""
        interactions.authorize(requester, resource_type, "d")
        query = criteria_in_url(request, resource_type, "a conditional delete")

        def delete_matching(session: Session) -> None:
            found = single_match(session, requester, resource_type, query)
            if found is not None:
                interactions.delete(session, requester, resource_type, found.id)

        await fhir.write(delete_matching)
        return Response(status_code=204)

    @api.delete("/{resource_type}/{resource_id:fhir_id}")
    async def delete(
        request: Request, requester: Auth, resource_type: ResourceType, resource_id: str
    ) -> Response:
        await fhir.write(lambda s: interactions.delete(s, requester, resource_type, resource_id))
        return Response(status_code=204)
