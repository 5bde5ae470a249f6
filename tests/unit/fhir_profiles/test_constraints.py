"""Invariants and required bindings of the base R4 definitions (r4/constraints.json)."""

from __future__ import annotations

from fhir_profiles.validation import Problem, validate

OBSERVATION = {"resourceType": "Observation", "status": "final", "code": {"text": "血红蛋白"}}


def test_a_valid_resource_has_no_problems():
    assert validate({**OBSERVATION, "valueQuantity": {"value": 135, "unit": "g/L"}}) == []


def test_invariants_name_the_element_and_the_rule():
    both = {**OBSERVATION, "valueString": "阴性", "dataAbsentReason": {"text": "未做"}}
    [problem] = validate(both)
    assert problem.expression == "Observation"
    assert problem.message.startswith("obs-6: ")
    ranges = {
        **OBSERVATION,
        "referenceRange": [{"text": "3.5-5.3"}, {"appliesTo": [{"text": "成人"}]}],
    }
    assert [p.message[:6] for p in validate(ranges)] == ["obs-3:"]


def test_required_bindings_on_codes_and_codeable_concepts():
    assert validate({**OBSERVATION, "status": "done"}) == [
        Problem("Observation.status", "'done' is not in the required value set")
    ]
    request = {
        "resourceType": "ServiceRequest",
        "status": "active",
        "intent": "order",
        "subject": {"reference": "Patient/p1"},
        "priority": "stat",
    }
    assert validate(request) == []
    assert [p.expression for p in validate({**request, "priority": "urgentest"})] == [
        "ServiceRequest.priority"
    ]
    contact = {"resourceType": "Patient", "contact": [{"name": {"text": "李"}, "gender": "x"}]}
    assert [p.expression for p in validate(contact)] == ["Patient.contact[0].gender"]
