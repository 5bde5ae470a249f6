"""FHIR over HTTP, the parts every interaction shares: the format a client may ask for, the
bodies it may send, and the headers of what it gets back (``ETag``, ``Last-Modified``,
``Location``, ``Prefer: return=``)."""

from __future__ import annotations

from email.utils import format_datetime
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from gateway.errors import BadRequest, NotAcceptable, UnsupportedMediaType
from gateway.fhir.outcome import FHIR_JSON, information
from gateway.fhir.validator import Validator
from storage.fhir import StoredResource, instant
from storage.json_codec import dump_bytes, loads

PREFIX = "/fhir"
JSON_TYPES = ("application/fhir+json", "application/json", "application/json+fhir", "*/*")
BODY_TYPES = ("application/fhir+json", "application/json", "application/json+fhir")


def fhir_base(request: Request) -> str:
    """The FHIR base URL as the client reached it."""
    return f"{str(request.base_url).rstrip('/')}{PREFIX}"


def fhir_json(body: Any, status: int = 200) -> Response:
    return Response(dump_bytes(body), status, media_type=FHIR_JSON)


def check_format(request: Request) -> None:
    wanted = request.query_params.get("_format") or request.headers.get("accept") or "*/*"
    if not any(kind in wanted for kind in (*JSON_TYPES, "json", "application/*")):
        raise NotAcceptable("this server speaks FHIR JSON only (application/fhir+json)")


async def json_body(request: Request) -> Any:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in BODY_TYPES:
        raise UnsupportedMediaType("send the resource as application/fhir+json")
    try:
        return loads(await request.body())
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"the body is not valid JSON: {exc}") from None


async def resource_body(
    request: Request, resource_type: str, validation: Validator
) -> dict[str, Any]:
    """The body as a valid resource of ``resource_type`` (400 or 422 otherwise)."""
    resource = await json_body(request)
    if not isinstance(resource, dict) or resource.get("resourceType") != resource_type:
        found = resource.get("resourceType") if isinstance(resource, dict) else None
        raise BadRequest(f"expected a {resource_type} resource, got {found!r}")
    validation.require_valid(resource, resource_type, resource_type)
    return resource


def if_match(request: Request) -> int | None:
    header = request.headers.get("if-match")
    if header is None:
        return None
    text = header.strip().removeprefix("W/").strip('"')
    if not text.isdigit():
        raise BadRequest('If-Match must be a version ETag such as W/"3"')
    return int(text)


def _version_headers(stored: StoredResource) -> dict[str, str]:
    return {
        "ETag": f'W/"{stored.version_id}"',
        "Last-Modified": format_datetime(stored.last_updated, usegmt=True),
    }


def resource_response(stored: StoredResource) -> Response:
    return Response(
        dump_bytes(stored.content), media_type=FHIR_JSON, headers=_version_headers(stored)
    )


def written(request: Request, stored: StoredResource, status: int) -> Response:
    """The answer to a write, as ``Prefer: return=`` asks (representation by default)."""
    location = (
        f"{fhir_base(request)}/{stored.resource_type}/{stored.id}/_history/{stored.version_id}"
    )
    headers = {"Location": location, **_version_headers(stored)}
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


def history_entry(request: Request, stored: StoredResource) -> dict[str, Any]:
    url = f"{stored.resource_type}/{stored.id}"
    entry: dict[str, Any] = {
        "fullUrl": f"{fhir_base(request)}/{url}",
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
