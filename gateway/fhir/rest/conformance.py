"""What the server says about itself, readable without a token: the CapabilityStatement
(``/fhir/metadata``) and the OperationDefinitions of its operations, both built from the same
registries the routes are (supported types, search parameters, profiles, operations)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from fhir_profiles.json_form import MAX_DEPTH, MAX_VALUES
from fhir_profiles.profiles import profiles_by_type
from fhir_profiles.search_values import search_parameter_codes
from fhir_profiles.validation import SUPPORTED_TYPES
from gateway.auth.routes import public_base
from gateway.errors import NotFound
from gateway.fhir import audit_events, bundle, interactions, operations, search, websocket
from gateway.fhir.context import Fhir
from gateway.fhir.http import MAX_BODY_BYTES, check_format, fhir_base, fhir_json

INTERACTIONS = (
    "read", "vread", "update", "patch", "delete", "history-instance", "history-type", "create",
    "search-type",
)  # fmt: skip
SYSTEM_INTERACTIONS = ("transaction", "batch")
RESTFUL_SECURITY = "http://terminology.hl7.org/CodeSystem/restful-security-service"
WEBSOCKET = "http://hl7.org/fhir/StructureDefinition/capabilitystatement-websocket"
OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
OAUTH_ENDPOINTS = (("authorize", "authorize"), ("token", "token"), ("revoke", "logout"))
LIMITS = (
    f"Limits: a request body of at most {MAX_BODY_BYTES // 2**20} MiB (413 beyond); a resource"
    f" nested at most {MAX_DEPTH} levels of JSON objects and arrays, holding at most"
    f" {MAX_VALUES:,} values (422 beyond); at most {bundle.MAX_ENTRIES} entries in a"
    f" transaction or batch Bundle; _count at most {search.MAX_COUNT}; whole-number"
    " parameters at most 2147483647; decimals as a double holds them."
)


def mount(api: APIRouter, fhir: Fhir) -> None:
    required = fhir.platform.settings.fhir_required_profiles

    def profiles_of(resource_type: str) -> dict[str, Any]:
        """``profile`` (what every write must conform to, when one is required) and
        ``supportedProfile`` (Yilian's profiles of the type)."""
        fields: dict[str, Any] = {}
        if len(required.get(resource_type, [])) == 1:
            fields["profile"] = required[resource_type][0]
        if supported := profiles_by_type().get(resource_type):
            fields["supportedProfile"] = supported
        return fields

    def stored_type(resource_type: str) -> dict[str, Any]:
        search_params = {**search_parameter_codes(resource_type), "_lastUpdated": "date"}
        ops = [op.capability() for op in operations.registered() if op.applies_to(resource_type)]
        return {
            "type": resource_type,
            **profiles_of(resource_type),
            "versioning": "versioned",
            "readHistory": True,
            "updateCreate": True,
            "conditionalCreate": True,
            "conditionalUpdate": True,
            "conditionalDelete": "single",
            "searchParam": [{"name": code, "type": kind} for code, kind in search_params.items()],
            **({"operation": ops} if ops else {}),
            "interaction": [{"code": code} for code in INTERACTIONS],
        }

    def recorded_type(resource_type: str) -> dict[str, Any]:
        return {
            "type": resource_type,
            "documentation": "the access log, recorded by the server",
            "searchParam": [
                {"name": code, "type": kind}
                for code, kind in audit_events.SEARCH_PARAMETERS.items()
            ],
            "interaction": [{"code": "read"}, {"code": "search-type"}],
        }

    @api.get("/metadata")
    async def capability_statement(request: Request) -> Response:
        check_format(request)
        recorded = interactions.SERVER_RECORDED
        root = public_base(request, fhir.platform)
        websocket_url = root.replace("http", "ws", 1)
        return fhir_json(
            {
                "resourceType": "CapabilityStatement",
                "status": "active",
                "date": "2026-11-23",
                "kind": "instance",
                "software": {"name": "Yilian 医联", "version": "0.1.0"},
                "implementation": {
                    "description": "Yilian FHIR API",
                    "url": str(request.base_url),
                },
                "fhirVersion": "4.0.1",
                "format": ["application/fhir+json"],
                "rest": [
                    {
                        "mode": "server",
                        "documentation": LIMITS,
                        "extension": [
                            {"url": WEBSOCKET, "valueUri": websocket_url + websocket.PATH}
                        ],
                        "security": {
                            "extension": [
                                {
                                    "url": OAUTH_URIS,
                                    "extension": [
                                        {"url": name, "valueUri": f"{root}/auth/{path}"}
                                        for name, path in OAUTH_ENDPOINTS
                                    ],
                                }
                            ],
                            "service": [
                                {"coding": [{"system": RESTFUL_SECURITY, "code": "SMART-on-FHIR"}]}
                            ],
                        },
                        "resource": [
                            *(stored_type(t) for t in SUPPORTED_TYPES if t not in recorded),
                            *(recorded_type(t) for t in sorted(recorded)),
                        ],
                        "interaction": [{"code": code} for code in SYSTEM_INTERACTIONS],
                    }
                ],
            }
        )

    @api.get("/OperationDefinition")
    async def operation_definitions(request: Request) -> Response:
        check_format(request)
        base = fhir_base(request)
        found = [op.definition() for op in operations.registered()]
        return fhir_json(
            {
                "resourceType": "Bundle",
                "type": "searchset",
                "total": len(found),
                "entry": [
                    {
                        "fullUrl": f"{base}/OperationDefinition/{d['id']}",
                        "resource": d,
                        "search": {"mode": "match"},
                    }
                    for d in found
                ],
            }
        )

    @api.get("/OperationDefinition/{definition_id}")
    async def operation_definition(request: Request, definition_id: str) -> Response:
        check_format(request)
        operation = operations.by_id().get(definition_id)
        if operation is None:
            raise NotFound(f"OperationDefinition/{definition_id} is not known")
        return fhir_json(operation.definition())
