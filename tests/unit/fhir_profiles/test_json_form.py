"""FHIR JSON as R4 writes it: what is refused, and what is valid although it looks odd."""

from __future__ import annotations

from fhir_profiles.json_form import json_problems
from fhir_profiles.problem import Problem

PATIENT = {"resourceType": "Patient", "name": [{"family": "张", "given": ["三"]}]}


def test_a_null_is_allowed_only_as_a_placeholder_beside_its_twin():
    twins = {"family": "张", "given": ["三", "丰"], "_given": [None, {"id": "g2"}]}
    assert json_problems({**PATIENT, "name": [twins]}) == []
    lonely = {"family": "张", "given": ["三", None]}
    assert json_problems({**PATIENT, "name": [lonely]}) == [
        Problem("Patient.name[0].given[1]", "null is not a FHIR value: leave the element out")
    ]


def test_numbers_keep_their_json_types():
    assert json_problems({**PATIENT, "multipleBirthInteger": 2}) == []
    assert json_problems({**PATIENT, "multipleBirthInteger": True}) != []  # a bool is no int
    assert json_problems({**PATIENT, "multipleBirthInteger": 2**31}) == [
        Problem("Patient.multipleBirthInteger", "out of range")
    ]
    observation = {"resourceType": "Observation", "status": "final", "code": {"text": "钾"}}
    assert json_problems({**observation, "valueQuantity": {"value": 4}}) == []
    assert json_problems({**observation, "valueQuantity": {"value": 1e300}}) == []


def test_contained_and_nested_resources_are_walked_by_their_own_type():
    contained = {"resourceType": "Practitioner", "id": "p", "active": "yes"}
    assert json_problems({**PATIENT, "contained": [contained]}) == [
        Problem("Patient.contained[0].active", "must be a JSON boolean (true or false)")
    ]


def test_nested_extensions_with_values_are_valid():
    inner = {"url": "http://example.org/b", "valueCode": "x"}
    outer = {"url": "http://example.org/a", "extension": [inner]}
    assert json_problems({**PATIENT, "extension": [outer]}) == []
