"""What ``/openapi.json`` says about the FHIR routes, which read their bodies and most of their
parameters themselves: the request bodies (a resource, a Bundle, a JSON Patch, Parameters), the
common search parameters, and the resource types a ``{resource_type}`` may be.  API tools and
fuzzers (schemathesis) then see the real surface; the per-type search parameters are in the
CapabilityStatement."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path

from fhir_profiles.validation import SUPPORTED_TYPES
from gateway.openapi import query_parameter

FHIR_JSON = "application/fhir+json"
ResourceType = Annotated[
    str,
    Path(description="a FHIR resource type", json_schema_extra={"enum": list(SUPPORTED_TYPES)}),
]


def _body(schema: dict[str, Any], media: str = FHIR_JSON) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {media: {"schema": schema}}}}


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
HL7_V3_XML = _body({"type": "string"}, "application/hl7-v3+xml")  # an HL7 v3 document (aECG)
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
    query_parameter("_id", "logical ids, comma-separated"),
    query_parameter("_lastUpdated", "a date with a prefix: eq ne lt gt le ge sa eb ap"),
    query_parameter("identifier", "system|value"),
    query_parameter("patient", "Patient/id or id"),
    query_parameter("subject", "a reference"),
    query_parameter("code", "system|code, |code or code"),
    query_parameter("date", "a date with a prefix"),
    query_parameter("status", "a code"),
]
CONDITIONAL = {"parameters": _CRITERIA}
SEARCH = {
    "parameters": [
        *_CRITERIA,
        query_parameter(
            "_count", "page size (at most 1000; 0: the total only)", {"type": "integer"}
        ),
        query_parameter("_offset", "where the page starts", {"type": "integer"}),
        query_parameter("_sort", "keys, comma-separated, - for descending"),
        query_parameter("_total", "none, estimate or accurate"),
        query_parameter("_summary", "true, text, data, count or false"),
        query_parameter("_elements", "elements to return, comma-separated"),
        query_parameter("_include", "Type:param[:target]"),
        query_parameter("_revinclude", "Type:param[:target]"),
    ]
}
