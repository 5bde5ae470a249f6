"""Search (``GET /fhir/{type}?…`` and ``POST /fhir/{type}/_search``): criteria parsed by
:mod:`gateway.fhir.search`, answered in SQL by :mod:`storage.fhir.search` for what the
requester may see, with ``_include``/``_revinclude``, paging and totals; every search audited."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from gateway.auth.routes import Auth
from gateway.auth.tokens import Requester
from gateway.fhir import interactions, openapi, search
from gateway.fhir.context import Fhir
from gateway.fhir.http import check_format, fhir_base, fhir_json
from gateway.fhir.openapi import ResourceType
from gateway.fhir.rest import audit
from storage.fhir import StoredResource
from storage.fhir import search as fhir_search

Found = tuple[list[StoredResource], int | None, list[StoredResource]]


def mount(api: APIRouter, fhir: Fhir) -> None:
    async def search_type(
        request: Request,
        requester: Requester,
        resource_type: str,
        params: list[tuple[str, str]],
    ) -> Response:
        check_format(request)
        strict = "handling=strict" in request.headers.get("prefer", "")
        interactions.authorize(requester, resource_type, "s")
        if resource_type in interactions.SERVER_RECORDED:
            return await audit.search(fhir, request, requester, params)
        query = search.parse(resource_type, params, strict)

        def work(session: Session) -> Found:
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

        found, total, extra = await fhir.read_only(work)
        base = fhir_base(request)
        return fhir_json(search.searchset(base, resource_type, params, query, found, total, extra))

    @api.get("/{resource_type}", openapi_extra=openapi.SEARCH)
    async def search_get(
        request: Request, requester: Auth, resource_type: ResourceType
    ) -> Response:
        params = list(request.query_params.multi_items())
        return await search_type(request, requester, resource_type, params)

    @api.post("/{resource_type}/_search")
    async def search_post(
        request: Request, requester: Auth, resource_type: ResourceType
    ) -> Response:
        form = await request.form()
        params = [
            *request.query_params.multi_items(),
            *((k, str(v)) for k, v in form.multi_items()),
        ]
        return await search_type(request, requester, resource_type, params)
