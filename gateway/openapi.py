"""Pieces of the OpenAPI description that routes reading their own parameters declare with
``openapi_extra`` (gateway.fhir.openapi, gateway.dicomweb.openapi)."""

from __future__ import annotations

from typing import Any


def query_parameter(
    name: str, description: str, schema: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema or {"type": "string"},
    }
