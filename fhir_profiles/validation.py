"""Is this a valid FHIR R4 resource?  Structure, cardinality and primitive types, checked with
the ``fhir.resources`` models.

Model choice: ``fhir.resources`` 8 ships R5 and R4B models, not R4.  R4B (4.3) keeps the R4
structure of every type Yilian serves; this is checked, not assumed: every official R4 example
of those types (npm ``hl7.fhir.r4.examples@4.0.1``) validates and round-trips through the store
unchanged (tests/integration/fhir/test_r4_examples.py).  The store keeps the JSON it was given,
not the model's re-serialisation, so instants and base64 stay byte-identical.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

SUPPORTED_TYPES = (
    "AuditEvent", "Binary", "CodeSystem", "Communication", "Consent", "DetectedIssue",
    "DiagnosticReport", "DocumentReference", "Endpoint", "HealthcareService", "ImagingStudy",
    "Media", "MeasureReport", "Observation", "Organization", "OrganizationAffiliation",
    "Patient", "Practitioner", "PractitionerRole", "Provenance", "ServiceRequest", "Specimen",
    "Subscription", "Task", "ValueSet",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Problem:
    """What is wrong, and where (a FHIRPath-like expression: ``Patient.name[0].given``)."""

    expression: str
    message: str


def _model(resource_type: str) -> Any:
    module = importlib.import_module(f"fhir.resources.R4B.{resource_type.lower()}")
    return getattr(module, resource_type)


def validate(resource: Any, expected_type: str | None = None) -> list[Problem]:
    """The problems of ``resource`` (empty when it is valid)."""
    if not isinstance(resource, dict):
        return [Problem("", "a FHIR resource must be a JSON object")]
    resource_type = resource.get("resourceType")
    if not isinstance(resource_type, str) or not resource_type:
        return [Problem("resourceType", "resourceType is missing")]
    if expected_type is not None and resource_type != expected_type:
        return [Problem("resourceType", f"expected {expected_type}, got {resource_type}")]
    if resource_type not in SUPPORTED_TYPES:
        return [Problem("resourceType", f"resource type {resource_type} is not supported")]
    try:
        _model(resource_type).model_validate(resource)
    except ValidationError as exc:
        return [_problem(resource_type, error) for error in exc.errors()]
    return []


def _problem(resource_type: str, error: Any) -> Problem:
    path = resource_type
    for part in error.get("loc", ()):
        if isinstance(part, int):
            path += f"[{part}]"
        elif part != "__root__":
            path += f".{str(part).removeprefix('_')}"
    message = str(error.get("msg", "invalid"))
    if error.get("type") == "extra_forbidden":
        message = "unknown element"
    elif error.get("type") == "missing":
        message = "required element is missing"
    return Problem(path, message)
