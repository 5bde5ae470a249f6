"""``POST /fhir/{type}/$validate``: the resource (or a Parameters with a ``resource``) is checked,
never stored; the answer is an OperationOutcome, 200 when valid, 422 with its problems."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from fhir_profiles.profiles import known as known_profile
from gateway.auth.routes import Auth
from gateway.errors import BadRequest
from gateway.fhir import interactions, openapi
from gateway.fhir.context import Fhir
from gateway.fhir.http import check_format, fhir_json, json_body, parameters_of
from gateway.fhir.openapi import ResourceType
from gateway.fhir.operation import HL7, Operation, Param
from gateway.fhir.outcome import information


def mount(api: APIRouter, fhir: Fhir) -> None:
    @api.post("/{resource_type}/$validate", openapi_extra=openapi.RESOURCE_OR_PARAMETERS)
    async def validate_resource(
        request: Request, requester: Auth, resource_type: ResourceType
    ) -> Response:
        check_format(request)
        interactions.authorize(requester, resource_type, "r")
        body = await json_body(request)
        profiles = request.query_params.getlist("profile")
        if (parameters := parameters_of(body)) is not None:
            given = [p.get("resource") for p in parameters if p.get("name") == "resource"]
            profiles += [p["valueUri"] for p in parameters if p.get("name") == "profile"
                         and "valueUri" in p]  # fmt: skip
            profiles += [p["valueCanonical"] for p in parameters if p.get("name") == "profile"
                         and "valueCanonical" in p]  # fmt: skip
            body = given[0] if given else None
        unknown = [url for url in profiles if not isinstance(url, str) or not known_profile(url)]
        if unknown:
            raise BadRequest(f"unknown profile {unknown[0]!r} (this server knows its own)")
        fhir.validation.require_valid(body, resource_type, resource_type, profiles)
        return fhir_json(information(f"{resource_type} is valid"))


OPERATION = Operation(
    code="validate",
    title="Validate a resource",
    description="Checks a resource against FHIR R4, its type's invariants and the profiles "
    "it claims or the client names (Yilian's own); nothing is stored.",
    resources=("Resource",),
    type_level=True,
    base=f"{HL7}/Resource-validate",
    parameters=(
        Param("resource", "in", "Resource", "the resource to check (or the body itself)"),
        Param("profile", "in", "uri", "a profile to check against, besides those claimed"),
        Param("return", "out", "OperationOutcome", "valid (200) or its problems (422)", 1),
    ),
    mount=mount,
)
