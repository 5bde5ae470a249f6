"""Presence rules walked on the JSON give fhirpathpy's answer, failing ones included, and
leave to fhirpathpy what they do not read the same way."""

from __future__ import annotations

from typing import Any

import pytest

from fhir_profiles.invariant_paths import presence_rule
from fhir_profiles.search_values import fhirpath
from fhir_profiles.validation import validate

OBSERVATION = {"resourceType": "Observation", "status": "final", "code": {"text": "钾"}}
CASES = [
    # (expression, type, resource)
    ("dataAbsentReason.empty() or value.empty()", "Observation",
     {**OBSERVATION, "valueQuantity": {"value": 4.1}, "dataAbsentReason": {"text": "未做"}}),
    ("dataAbsentReason.empty() or value.empty()", "Observation",
     {**OBSERVATION, "valueQuantity": {"value": 4.1}}),
    ("referenceRange.all(low.exists() or high.exists() or text.exists())", "Observation",
     {**OBSERVATION, "referenceRange": [{"text": "3.5-5.3"}, {"type": {"text": "成人"}}]}),
    ("referenceRange.all(low.exists() or high.exists() or text.exists())", "Observation",
     {**OBSERVATION, "referenceRange": [{"low": {"value": 3.5}}]}),
    ("contained.contained.empty()", "Observation",
     {**OBSERVATION, "contained": [{**OBSERVATION, "id": "a", "contained": [OBSERVATION]}]}),
    ("contained.meta.versionId.empty() and contained.meta.lastUpdated.empty()", "Observation",
     {**OBSERVATION, "contained": [{**OBSERVATION, "id": "a", "meta": {"versionId": "2"}}]}),
    ("contact.all(name.exists() or telecom.exists() or address.exists() or "
     "organization.exists())", "Patient",
     {"resourceType": "Patient", "contact": [{"relationship": [{"text": "配偶"}]}]}),
]  # fmt: skip


@pytest.mark.parametrize(("expression", "type_path", "resource"), CASES)
def test_the_walk_answers_as_fhirpath(expression: str, type_path: str, resource: dict[str, Any]):
    rule = presence_rule(expression, type_path)
    assert rule is not None
    expected = fhirpath(expression)(resource, {"resource": resource}) in ([True], [])
    assert rule(resource) is expected


def test_some_cases_fail():
    answers = {presence_rule(e, t)(r) for e, t, r in CASES}  # type: ignore[misc]
    assert answers == {True, False}


def test_a_primitive_with_extensions_is_left_to_fhirpath():
    rule = presence_rule("birthDate.exists()", "Patient")
    assert rule is not None
    absent = {"resourceType": "Patient", "_birthDate": {"extension": [{"url": "x"}]}}
    assert rule(absent) is None
    assert rule({"resourceType": "Patient", "birthDate": "1970"}) is True


def test_matches_reads_a_string():
    rule = presence_rule("matches('^.{0,8}HR$')", "string")
    assert rule is not None
    assert (rule("浙HR"), rule("浙HR互认"), rule({"value": 1})) == (True, False, None)


@pytest.mark.parametrize(
    "expression",
    ["value.where(code = 'x').exists()", "nosuch.exists()", "(a.exists())", "value.unit.exists()"],
)
def test_other_expressions_are_left_to_fhirpath(expression: str):
    assert presence_rule(expression, "Observation") is None


OBS_7 = (
    "value.empty() or component.code.where(coding.intersect(%resource.code.coding).exists())"
    ".empty()"
)


def test_a_filtered_path_that_is_absent_holds_and_one_present_is_left_to_fhirpath():
    """obs-7: a result without components holds whatever the filter says; one with components
    is fhirpathpy's to decide, which finds a component coded as the result itself."""
    rule = presence_rule(OBS_7, "Observation")
    assert rule is not None
    potassium = {"system": "http://loinc.org", "code": "2823-3"}
    result = {**OBSERVATION, "code": {"coding": [potassium]}, "valueQuantity": {"value": 4.1}}
    assert rule(result) is True
    repeated = {**result, "component": [{"code": {"coding": [potassium]}}]}
    assert rule(repeated) is None
    assert fhirpath(OBS_7)(repeated, {"resource": repeated}) == [False]
    assert validate(repeated)[0].message.startswith("obs-7")


@pytest.mark.parametrize(
    "expression",
    ["component.where(code.exists() or value.exists()).empty()", "a.where(b.exists()).empty()"],
)
def test_a_filter_cut_at_its_or_or_of_unknown_elements_is_left_to_fhirpath(expression: str):
    assert presence_rule(expression, "Observation") is None
