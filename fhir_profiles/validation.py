"""Is this a valid FHIR R4 resource?  Structure, cardinality and primitive types, checked with
the ``fhir.resources`` models; then the base definitions' FHIRPath invariants (fhirpathpy; those
that test only whether elements are present walk the JSON: ``invariant_paths.py``) and required
bindings, compiled from the official StructureDefinitions into ``r4/constraints.json``
(``build_constraints.py``); then Yilian's own profiles (:mod:`fhir_profiles.profiles`).

Model choice: ``fhir.resources`` 8 ships R5 and R4B models, not R4.  R4B (4.3) keeps the R4
structure of every type Yilian serves; this is checked, not assumed: every official R4 example
of those types (npm ``hl7.fhir.r4.examples@4.0.1``) validates and round-trips through the store
unchanged (tests/integration/fhir/test_r4_examples.py).  The store keeps the JSON it was given,
not the model's re-serialisation, so instants and base64 stay byte-identical.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from fhirpathpy import compile as compile_fhirpath
from fhirpathpy.models import models
from pydantic import ValidationError

from fhir_profiles.invariant_paths import presence_rule
from fhir_profiles.json_form import json_problems, model_of
from fhir_profiles.problem import Problem
from fhir_profiles.profiles import conformance

CONSTRAINTS = Path(__file__).with_name("r4") / "constraints.json"
SUPPORTED_TYPES = (
    "Appointment", "AuditEvent", "Binary", "ChargeItem", "ChargeItemDefinition", "CodeSystem",
    "Communication", "Consent", "DetectedIssue", "DiagnosticReport", "DocumentReference",
    "Endpoint", "HealthcareService", "ImagingStudy", "Measure", "Media", "MeasureReport",
    "Observation", "Organization", "OrganizationAffiliation", "Patient", "Practitioner",
    "PractitionerRole", "Procedure", "Provenance", "Schedule", "ServiceRequest", "Slot",
    "Specimen", "Subscription", "Task", "ValueSet",
)  # fmt: skip


def validate(
    resource: Any, expected_type: str | None = None, required: Iterable[str] = ()
) -> list[Problem]:
    """The problems of ``resource`` (empty when it is valid): the base R4 definition, then the
    Yilian profiles it claims (``meta.profile``) and those ``required`` of its type."""
    if not isinstance(resource, dict):
        return [Problem("", "a FHIR resource must be a JSON object")]
    resource_type = resource.get("resourceType")
    if not isinstance(resource_type, str) or not resource_type:
        return [Problem("resourceType", "resourceType is missing")]
    if expected_type is not None and resource_type != expected_type:
        return [Problem("resourceType", f"expected {expected_type}, got {resource_type}")]
    if resource_type not in SUPPORTED_TYPES:
        return [Problem("resourceType", f"resource type {resource_type} is not supported")]
    if wrong := json_problems(resource):
        return wrong
    model = model_of(resource_type)
    assert model is not None  # every supported type has its model
    try:
        model.model_validate(resource)
    except ValidationError as exc:
        return [_problem(resource_type, error) for error in exc.errors()]
    except (AttributeError, TypeError, ValueError) as exc:  # a model validator that gave up
        return [Problem(resource_type, f"cannot be read as FHIR R4 ({type(exc).__name__})")]
    problems = _binding_problems(resource) + _invariant_problems(resource)
    return problems or conformance(resource, required)


@dataclass(frozen=True, slots=True)
class _Invariant:
    key: str
    path: str
    human: str
    holds: Callable[[dict[str, Any]], bool]
    names: frozenset[str]  # the element names it mentions
    trivial: bool  # holds whenever none of them is present


@cache
def _constraints(resource_type: str) -> tuple[list[_Invariant], list[tuple[str, frozenset[str]]]]:
    """The type's invariants (compiled) and required bindings (path, codes)."""
    built = json.loads(CONSTRAINTS.read_text())[resource_type]
    invariants = []
    for rule in built["invariants"]:
        expression = rule_expression(rule["path"], rule["expression"])
        compiled = compile_fhirpath(expression, models["r4"])
        fast = presence_rule(expression, resource_type)

        def holds(resource: dict[str, Any], run: Any = compiled, fast: Any = fast) -> bool:
            answer = fast(resource) if fast is not None else None
            if answer is not None:
                return answer
            return run(resource, {"resource": resource}) in ([True], [])

        # Names the expression may read; when none is in the resource and the rule holds for
        # an empty resource, it holds (unless it looks at everything: descendants()...).
        names = frozenset(re.findall(r"(?<![%\w])([a-z]\w*)(?!\w*\()", expression))
        whole = any(word in expression for word in ("descendants", "children", "%resource"))
        trivial = not whole and holds({"resourceType": resource_type})
        invariants.append(
            _Invariant(rule["key"], rule["path"], rule["human"], holds, names, trivial)
        )
    bindings = [(b["path"], frozenset(b["codes"])) for b in built["bindings"]]
    return invariants, bindings


def rule_expression(path: str, expression: str) -> str:
    """An invariant declared on ``path`` (``Observation.referenceRange``) as an expression on
    the resource."""
    context = path.partition(".")[2]
    return f"{context}.all({expression})" if context else expression


def _invariant_problems(resource: dict[str, Any]) -> list[Problem]:
    invariants, _ = _constraints(resource["resourceType"])
    return [
        Problem(rule.path, f"{rule.key}: {rule.human}")
        for rule in invariants
        if not (rule.trivial and rule.names.isdisjoint(resource)) and not rule.holds(resource)
    ]


def _binding_problems(resource: dict[str, Any]) -> list[Problem]:
    """Codes outside a required value set (code, Coding or CodeableConcept elements)."""
    _, bindings = _constraints(resource["resourceType"])
    problems = []
    for path, codes in bindings:
        for where, value in _at(resource, path.split(".")[1:], path.split(".")[0]):
            given = (
                [value]
                if isinstance(value, str)
                else [c.get("code") for c in value.get("coding", [value]) if isinstance(c, dict)]
                if isinstance(value, dict)
                else []
            )
            problems += [
                Problem(where, f"{code!r} is not in the required value set")
                for code in given
                if code is not None and code not in codes
            ]
    return problems


def _at(node: Any, names: list[str], path: str) -> Iterator[tuple[str, Any]]:
    """The values at an element path, with where each is (``Patient.contact[1].gender``)."""
    if not names:
        yield path, node
        return
    value = node.get(names[0]) if isinstance(node, dict) else None
    if isinstance(value, list):
        for index, item in enumerate(value):
            yield from _at(item, names[1:], f"{path}.{names[0]}[{index}]")
    elif value is not None:
        yield from _at(value, names[1:], f"{path}.{names[0]}")


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
