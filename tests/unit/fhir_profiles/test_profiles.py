"""Yilian's profiles, applied as a HIS would meet them: each case is a conformant resource
with one thing changed, and the one problem (where, what) that must come back."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from fhir_profiles.profiles import DEFINITIONS, profiles_by_type
from fhir_profiles.validation import validate

SD = "http://yilian.example/fhir/StructureDefinition/"
ID_CARD = "urn:oid:2.16.156.10011.1.3"

PATIENT = {
    "resourceType": "Patient",
    "meta": {"profile": [f"{SD}yilian-patient"]},
    "identifier": [
        {"system": "urn:yilian:patient-id:tx-wsy", "value": "TX000123"},
        {"system": ID_CARD, "value": "11010519491231002X"},
    ],
    "name": [{"text": "张三丰"}],
    "gender": "male",
    "birthDate": "1949-12-31",
}
ORDER = {
    "resourceType": "ServiceRequest",
    "meta": {"profile": [f"{SD}yilian-service-request"]},
    "identifier": [{"system": "urn:oid:2.16.156.10011.1.24", "value": "SQ20261201001"}],
    "status": "active",
    "intent": "order",
    "priority": "urgent",
    "category": [
        {
            "coding": [
                {
                    "system": "http://yilian.example/fhir/CodeSystem/exam-category",
                    "code": "imaging",
                    "display": "医学影像",
                }
            ]
        }
    ],
    "code": {"text": "头颅CT平扫"},
    "subject": {"reference": "Patient/p1"},
    "requester": {"reference": "Organization/tx-wsy"},
    "performer": [{"reference": "Organization/jhzx"}],
    "authoredOn": "2026-12-01T08:30:00+08:00",
}
REPORT = {
    "resourceType": "DiagnosticReport",
    "meta": {"profile": [f"{SD}yilian-diagnostic-report"]},
    "extension": [{"url": f"{SD}recognition-mark", "valueString": "浙HR"}],
    "status": "final",
    "basedOn": [{"reference": "ServiceRequest/o1"}],
    "category": [{"text": "影像"}],
    "code": {"text": "头颅CT平扫"},
    "subject": {"reference": "Patient/p1"},
    "effectiveDateTime": "2026-12-01T09:00:00+08:00",
    "issued": "2026-12-01T09:40:00+08:00",
    "performer": [{"reference": "Practitioner/wanglei"}],
    "resultsInterpreter": [{"reference": "Practitioner/zhaomin"}],
}
TASK = {
    "resourceType": "Task",
    "meta": {"profile": [f"{SD}yilian-reading-task"]},
    "status": "requested",
    "intent": "order",
    "priority": "stat",
    "code": {
        "coding": [
            {"system": "http://yilian.example/fhir/CodeSystem/task-type", "code": "remote-reading"}
        ]
    },
    "focus": {"reference": "ServiceRequest/o1"},
    "for": {"reference": "Patient/p1"},
    "authoredOn": "2026-12-01T08:31:00+08:00",
    "requester": {"reference": "Organization/tx-wsy"},
    "owner": {"reference": "Organization/jhzx"},
}
RESULT = {
    "resourceType": "Observation",
    "meta": {"profile": [f"{SD}yilian-lab-observation"]},
    "status": "final",
    "category": [
        {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                    "code": "laboratory",
                }
            ]
        }
    ],
    "code": {"coding": [{"system": "urn:yilian:lab-code:jhzx", "code": "K", "display": "钾"}]},
    "subject": {"reference": "Patient/p1"},
    "effectiveDateTime": "2026-12-01T07:50:00+08:00",
    "valueQuantity": {"value": 6.8, "unit": "mmol/L"},
}

CS = "http://yilian.example/fhir/CodeSystem/"
SPECIMEN = {
    "resourceType": "Specimen",
    "meta": {"profile": [f"{SD}yilian-pathology-specimen"]},
    "extension": [{"url": f"{SD}specimen-tracking", "extension": [
        {"url": "step", "valueCoding": {"system": f"{CS}specimen-tracking", "code": "sent"}},
        {"url": "time", "valueDateTime": "2026-12-02T10:00:00+08:00"},
        {"url": "by", "valueReference": {"reference": "Organization/wcrm"}},
    ]}],
    "accessionIdentifier": {"system": "urn:oid:2.16.156.10011.1.14", "value": "BL261202000001"},
    "status": "available",
    "subject": {"reference": "Patient/p1"},
    "request": [{"reference": "ServiceRequest/o1"}],
    "collection": {"collectedDateTime": "2026-12-02T09:10:00+08:00",
                   "bodySite": {"text": "胃窦"}, "quantity": {"value": 3, "unit": "块"}},
    "container": [{"additiveCodeableConcept": {"text": "10%中性缓冲福尔马林"}}],
}  # fmt: skip
REJECTED = {"url": f"{SD}specimen-rejection-reason", "valueCodeableConcept": {
    "coding": [{"system": f"{CS}specimen-rejection-reason", "code": "mismatch"}]}}  # fmt: skip


def changed(resource: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A copy with top-level elements replaced (None: removed)."""
    result = copy.deepcopy(resource)
    for key, value in changes.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value
    return result


@pytest.mark.parametrize(
    "resource",
    [PATIENT, ORDER, REPORT, TASK, RESULT, SPECIMEN,
     changed(SPECIMEN, extension=[*SPECIMEN["extension"], REJECTED])],
)  # fmt: skip
def test_conformant_resources_pass(resource):
    assert validate(resource) == []


CASES = [
    # patient identity
    (changed(PATIENT, identifier=[{"system": ID_CARD, "value": "110105194912310021"}]),
     "Patient.identifier[0]", "yl-id-card"),
    (changed(PATIENT, identifier=[{"system": ID_CARD, "value": "1101051949123100"}]),
     "Patient.identifier[0]", "yl-id-card"),
    (changed(PATIENT, identifier=[{"system": ID_CARD, "value": "11010519491231002X"},
                                  {"system": ID_CARD, "value": "110101199003070134"}]),
     "Patient.identifier", "at most 1 allowed, 2 found"),
    (changed(PATIENT, identifier=[{"value": "TX000123"}]),
     "Patient.identifier[0].system", "at least 1 required"),
    (changed(PATIENT, identifier=None), "Patient.identifier", "at least 1 required, 0 found"),
    (changed(PATIENT, name=[{"given": ["三丰"]}]), "Patient.name[0]", "yl-name"),
    (changed(PATIENT, gender=None), "Patient.gender", "at least 1 required"),
    # orders
    (changed(ORDER, identifier=[{"system": "urn:his:tx-wsy", "value": "1"}]),
     "ServiceRequest.identifier", "电子申请单号"),
    (changed(ORDER, intent="plan"), "ServiceRequest.intent", 'must be exactly "order"'),
    (changed(ORDER, category=[{"coding": [{"system": "urn:his", "code": "imaging"}]}]),
     "ServiceRequest.category[0]", "ValueSet/exam-category"),
    (changed(ORDER, subject={"reference": "Group/g1"}), "ServiceRequest.subject",
     "must refer to Patient"),
    (changed(ORDER, performer=None), "ServiceRequest.performer", "at least 1 required"),
    # reports: two-level sign-off, the 互认 mark, types
    (changed(REPORT, resultsInterpreter=None), "DiagnosticReport", "yl-dr-signed"),
    (changed(REPORT, extension=[{"url": f"{SD}recognition-mark", "valueString": "互认"}]),
     "DiagnosticReport.extension[0].valueString", "yl-hr-mark"),
    (changed(REPORT, extension=[{"url": f"{SD}recognition-mark", "valueCode": "HR"}]),
     "DiagnosticReport.extension[0].valueCode", "only valueString"),
    (changed(REPORT, effectiveDateTime=None, effectivePeriod={"start": "2026-12-01"}),
     "DiagnosticReport.effectivePeriod", "only effectiveDateTime"),
    (changed(REPORT, basedOn=None), "DiagnosticReport.basedOn", "at least 1 required"),
    # reading work
    (changed(TASK, code={"coding": [{"system": "urn:x", "code": "remote-reading"}]}),
     "Task.code", "ValueSet/task-type"),
    (changed(TASK, focus={"reference": "Patient/p1"}), "Task.focus",
     "must refer to DiagnosticReport or ServiceRequest"),
    # lab results
    (changed(RESULT, category=[{"text": "检验"}]), "Observation.category",
     "category:laboratory: at least 1 required"),
    (changed(RESULT, valueQuantity=None, valueBoolean=True), "Observation.valueBoolean",
     "not allowed here"),
    (changed(RESULT, valueQuantity=None), "Observation", "yl-obs-value"),
    # pathology specimens: number, 离体时间, body site, the tracking's parts and codes
    (changed(SPECIMEN, accessionIdentifier=None), "Specimen.accessionIdentifier",
     "at least 1 required"),
    (changed(SPECIMEN, collection={"bodySite": {"text": "胃窦"}}),
     "Specimen.collection.collected[x]", "at least 1 required"),
    (changed(SPECIMEN, extension=[{"url": f"{SD}specimen-tracking", "extension": [
        {"url": "step", "valueCoding": {"system": f"{CS}specimen-tracking", "code": "lost"}},
        {"url": "time", "valueDateTime": "2026-12-02T10:00:00+08:00"}]}]),
     "Specimen.extension[0].extension[0].valueCoding", "ValueSet/specimen-tracking"),
    # profiles claimed
    (changed(PATIENT, meta={"profile": [f"{SD}yilian-nothing"]}), "Patient.meta.profile[0]",
     "unknown profile"),
    (changed(PATIENT, meta={"profile": [f"{SD}yilian-service-request"]}), "Patient.meta.profile",
     "profiles ServiceRequest"),
]  # fmt: skip


@pytest.mark.parametrize(("resource", "where", "what"), CASES)
def test_each_departure_is_named_at_its_element(resource, where, what):
    problems = validate(resource)
    assert [p.expression for p in problems] == [where], problems
    assert what in problems[0].message


def test_a_pathology_specimen_says_where_it_is_on_its_way():
    untracked = validate(changed(SPECIMEN, extension=None))
    assert any("tracking: at least 1 required" in p.message for p in untracked)
    no_step = [{"url": f"{SD}specimen-tracking", "extension": [
        {"url": "time", "valueDateTime": "2026-12-02T10:00:00+08:00"}]}]  # fmt: skip
    problems = validate(changed(SPECIMEN, extension=no_step))
    assert {p.expression for p in problems} == {"Specimen.extension[0].extension"}
    assert any("step: at least 1 required" in p.message for p in problems)


def test_a_required_profile_applies_without_being_claimed():
    bare = changed(ORDER, meta=None, identifier=None)
    assert validate(bare) == []
    problems = validate(bare, required=[f"{SD}yilian-service-request"])
    assert [p.expression for p in problems] == ["ServiceRequest.identifier"] * 2


def test_foreign_profiles_are_not_checked():
    claimed = changed(PATIENT, identifier=None, meta={"profile": ["http://hl7.org.cn/fhir/x"]})
    assert validate(claimed) == []


def test_base_problems_come_first_and_alone():
    """A resource the base definition refuses is not measured against the profile."""
    problems = validate(changed(PATIENT, gender="男"))
    assert [p.expression for p in problems] == ["Patient.gender"]
    assert "required value set" in problems[0].message


def test_generated_definitions_are_marked_and_complete():
    assert "Do not edit" in (DEFINITIONS / "PROVENANCE").read_text()
    assert profiles_by_type() == {
        "DiagnosticReport": [f"{SD}yilian-diagnostic-report"],
        "Observation": [f"{SD}yilian-lab-observation"],
        "Patient": [f"{SD}yilian-patient"],
        "Task": [f"{SD}yilian-reading-task", f"{SD}yilian-referral-task"],
        "ServiceRequest": [f"{SD}yilian-referral", f"{SD}yilian-service-request"],
        "Specimen": [f"{SD}yilian-pathology-specimen"],
    }
    for path in DEFINITIONS.glob("*.json"):
        resource = json.loads(path.read_text())
        assert resource["url"].startswith("http://yilian.example/fhir/"), path
        if resource["resourceType"] != "StructureDefinition":  # not a type served here
            assert validate(resource) == [], path
