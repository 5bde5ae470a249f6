"""Patch (``PATCH /fhir/{type}/{id}``), validated like any update, in the two forms clients send:

- JSON Patch (RFC 6902, ``application/json-patch+json``): a list of operations;
- JSON Merge Patch (RFC 7386, ``application/merge-patch+json``; also a plain JSON object sent as
  ``application/json`` or ``application/fhir+json``, which is what fhirpy's ``patch()`` sends):
  the elements given replace the resource's, ``null`` removes one.

FHIRPath Patch (a ``Parameters`` body) is not offered: 415, naming what is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jsonpatch
from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from gateway.auth.routes import Auth
from gateway.errors import BadRequest, Unprocessable, UnsupportedMediaType
from gateway.fhir import interactions, openapi
from gateway.fhir.context import Fhir
from gateway.fhir.http import BODY_TYPES, body_bytes, check_format, if_match, written
from gateway.fhir.openapi import ResourceType
from storage.fhir import StoredResource
from storage.json_codec import loads

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
OFFERED = f"send {JSON_PATCH} (RFC 6902) or {MERGE_PATCH} (RFC 7386)"
Patcher = Callable[[dict[str, Any]], Any]


def patcher(media: str, body: bytes) -> Patcher:
    """What the body does to a resource, by its media type (400/415 when it cannot say)."""
    if media not in (JSON_PATCH, MERGE_PATCH, *BODY_TYPES):
        raise UnsupportedMediaType(OFFERED)
    try:
        document = loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"the patch is not JSON: {exc}") from None
    if media == JSON_PATCH:
        try:
            operations = jsonpatch.JsonPatch(document)
        except (jsonpatch.InvalidJsonPatch, jsonpatch.JsonPointerException) as exc:
            raise BadRequest(f"not a JSON Patch document: {exc}") from None
        return operations.apply
    if not isinstance(document, dict):
        if media != MERGE_PATCH:  # e.g. a JSON Patch list sent as application/fhir+json
            raise UnsupportedMediaType(OFFERED)
        raise BadRequest("a merge patch is a JSON object")
    if document.get("resourceType") == "Parameters" and media != MERGE_PATCH:
        raise UnsupportedMediaType(f"FHIRPath Patch is not offered: {OFFERED}")
    return lambda resource: merged(resource, document)


def merged(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge key by key, ``null`` removes, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merged(result.get(key), value)
    return result


def mount(api: APIRouter, fhir: Fhir) -> None:
    @api.patch("/{resource_type}/{resource_id:fhir_id}", openapi_extra=openapi.PATCH)
    async def patch(
        request: Request, requester: Auth, resource_type: ResourceType, resource_id: str
    ) -> Response:
        check_format(request)
        interactions.authorize(requester, resource_type, "u")
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        change = patcher(media, await body_bytes(request))
        expected = if_match(request)

        def apply(session: Session) -> StoredResource:
            current = interactions.read(session, requester, resource_type, resource_id)
            assert current.content is not None
            try:
                patched = change(current.content)
            except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
                raise Unprocessable("the patch cannot be applied", [("", str(exc))]) from None
            if not isinstance(patched, dict):
                raise Unprocessable("a patch must leave a resource (a JSON object)", [])
            if patched.get("resourceType") != resource_type or patched.get("id") != resource_id:
                raise Unprocessable("a patch may not change resourceType or id", [])
            fhir.validation.require_valid(patched, resource_type, f"the patched {resource_type}")
            version = expected if expected is not None else current.version_id
            return interactions.update(session, requester, patched, version, check=fhir.checked)

        stored = await fhir.write(apply)
        return written(request, stored, 200)
