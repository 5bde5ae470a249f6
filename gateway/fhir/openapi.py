"""What ``/openapi.json`` says about the FHIR routes, which read their bodies and most of their
parameters themselves: the request bodies (a resource, a Bundle, a JSON Patch, Parameters), the
common search parameters, and the resource types a ``{resource_type}`` may be.  API tools and
fuzzers (schemathesis) then see the real surface; the per-type search parameters are in the
CapabilityStatement."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path

from fhir_profiles.validation import SUPPORTED_TYPES

FHIR_JSON = "application/fhir+json"
ResourceType = Annotated[
    str,
    Path(description="a FHIR resource type", json_schema_extra={"enum": list(SUPPORTED_TYPES)}),
]


def _body(schema: dict[str, Any], media: str = FHIR_JSON) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {media: {"schema": schema}}}}


def _query(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema or {"type": "string"},
    }


def _resource(resource_types: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["resourceType"],
        "properties": {"resourceType": {"type": "string", "enum": resource_types}},
        "additionalProperties": True,
    }


RESOURCE = _body(_resource(list(SUPPORTED_TYPES)))
BUNDLE = _body(
    {
        **_resource(["Bundle"]),
        "properties": {
            "resourceType": {"type": "string", "enum": ["Bundle"]},
            "type": {"type": "string", "enum": ["transaction", "batch"]},
            "entry": {"type": "array", "items": {"type": "object"}},
        },
    }
)
PARAMETERS = _body(
    {
        **_resource(["Parameters"]),
        "properties": {
            "resourceType": {"type": "string", "enum": ["Parameters"]},
            "parameter": {"type": "array", "items": {"type": "object"}},
        },
    }
)
RESOURCE_OR_PARAMETERS = _body(_resource([*SUPPORTED_TYPES, "Parameters"]))
PATCH = _body(
    {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["op", "path"],
            "properties": {
                "op": {"enum": ["add", "remove", "replace", "move", "copy", "test"]},
                "path": {"type": "string"},
                "from": {"type": "string"},
                "value": {},
            },
        },
    },
    "application/json-patch+json",
)
PATCH["requestBody"]["content"]["application/merge-patch+json"] = {"schema": {"type": "object"}}
_CRITERIA = [
    _query("_id", "logical ids, comma-separated"),
    _query("_lastUpdated", "a date with a prefix: eq ne lt gt le ge sa eb ap"),
    _query("identifier", "system|value"),
    _query("patient", "Patient/id or id"),
    _query("subject", "a reference"),
    _query("code", "system|code, |code or code"),
    _query("date", "a date with a prefix"),
    _query("status", "a code"),
]
CONDITIONAL = {"parameters": _CRITERIA}
SEARCH = {
    "parameters": [
        *_CRITERIA,
        _query("_count", "page size (at most 1000; 0: the total only)", {"type": "integer"}),
        _query("_offset", "where the page starts", {"type": "integer"}),
        _query("_sort", "keys, comma-separated, - for descending"),
        _query("_total", "none, estimate or accurate"),
        _query("_summary", "true, text, data, count or false"),
        _query("_elements", "elements to return, comma-separated"),
        _query("_include", "Type:param[:target]"),
        _query("_revinclude", "Type:param[:target]"),
    ]
}
