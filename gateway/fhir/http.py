"""FHIR over HTTP, the parts every interaction shares: the format a client may ask for, the
bodies it may send, and the headers of what it gets back (``ETag``, ``Last-Modified``,
``Location``, ``Prefer: return=``)."""

from __future__ import annotations

from email.utils import format_datetime
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from gateway.errors import (
    BadRequest,
    NotAcceptable,
    PreconditionFailed,
    TooLarge,
    UnsupportedMediaType,
)
from gateway.fhir.outcome import FHIR_JSON, information
from gateway.fhir.validator import Validator
from storage.fhir import StoredResource, instant
from storage.fhir.store import MAX_VERSION
from storage.json_codec import dump_bytes, loads

PREFIX = "/fhir"
# The largest request body a FHIR interaction reads (413 beyond): a Binary of a report, a
# Bundle of 1000 entries; more would cost seconds of validation.
MAX_BODY_BYTES = 16 * 2**20
JSON_TYPES = ("application/fhir+json", "application/json", "application/json+fhir", "*/*")
BODY_TYPES = ("application/fhir+json", "application/json", "application/json+fhir")


def whole_number(text: str, most: int = 2**31 - 1) -> int | None:
    """``text`` as a whole number of ASCII digits no larger than ``most``, else None (``"²"``
    is a digit to Python, and a 30-digit number fits no database column)."""
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(most)):
        return None
    value = int(text)
    return value if value <= most else None


def fhir_base(request: Request) -> str:
    """The FHIR base URL as the client reached it."""
    return f"{str(request.base_url).rstrip('/')}{PREFIX}"


def fhir_json(body: Any, status: int = 200) -> Response:
    return Response(dump_bytes(body), status, media_type=FHIR_JSON)


def check_format(request: Request) -> None:
    wanted = request.query_params.get("_format") or request.headers.get("accept") or "*/*"
    if not any(kind in wanted for kind in (*JSON_TYPES, "json", "application/*")):
        raise NotAcceptable("this server speaks FHIR JSON only (application/fhir+json)")


async def body_bytes(request: Request) -> bytes:
    """The request body, read no further than :data:`MAX_BODY_BYTES` (413 beyond)."""
    too_large = TooLarge(f"a request body may hold at most {MAX_BODY_BYTES // 2**20} MiB")
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


async def json_body(request: Request) -> Any:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in BODY_TYPES:
        raise UnsupportedMediaType("send the resource as application/fhir+json")
    try:
        return loads(await body_bytes(request))
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


def parameters_of(body: Any) -> list[dict[str, Any]] | None:
    """The ``parameter`` entries of a Parameters resource (None when ``body`` is not one)."""
    if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
        return None
    given = body.get("parameter", [])
    if not isinstance(given, list) or not all(isinstance(p, dict) for p in given):
        raise BadRequest("Parameters.parameter must be an array of objects")
    return given


def parameter_values(body: bytes) -> dict[str, Any]:
    """An operation's ``Parameters`` body as ``{name: value}`` (``value[x]`` or ``resource``);
    an empty body is no parameters."""
    if not body.strip():
        return {}
    try:
        parameters = parameters_of(loads(body))
    except ValueError:
        raise BadRequest("the body is not JSON") from None
    if parameters is None:
        raise BadRequest("send a Parameters resource")
    values: dict[str, Any] = {}
    for parameter in parameters:
        for key, value in parameter.items():
            if key == "resource" or key.startswith("value"):
                values[str(parameter.get("name"))] = value
    return values


def if_match(request: Request) -> int | None:
    header = request.headers.get("if-match")
    if header is None:
        return None
    text = header.strip().removeprefix("W/").strip('"')
    if not (text.isascii() and text.isdigit()):
        raise BadRequest('If-Match must be a version ETag such as W/"3"')
    version = whole_number(text, MAX_VERSION)
    if version is None:
        raise PreconditionFailed(f"version {text} cannot exist")
    return version


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
