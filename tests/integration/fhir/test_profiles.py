"""Yilian's profiles at the REST API: a resource claiming a profile is held to it, the server
can require one of every write of a type, ``$validate`` takes a profile, the CapabilityStatement
lists them, and the committed definitions are exactly what SUSHI compiles from the FSH."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fhir_profiles.build_profiles import OUTPUT, build
from gateway.fhir.terminology import publish_terminology
from gateway.fhir.validator import Validator
from tests.integration.dicomweb.conftest import Gateway, start_gateway
from tests.integration.fhir.test_rest import PATIENT, call, versions

SD = "http://yilian.example/fhir/StructureDefinition/"
ID_CARD = "urn:oid:2.16.156.10011.1.3"
CN_PATIENT = {
    **PATIENT,
    "meta": {"profile": [f"{SD}yilian-patient"]},
    "identifier": [*PATIENT["identifier"], {"system": ID_CARD, "value": "330702198001011232"}],
}
ORDER = {
    "resourceType": "ServiceRequest",
    "status": "active",
    "intent": "order",
    "priority": "routine",
    "category": [
        {
            "coding": [
                {"system": "http://yilian.example/fhir/CodeSystem/exam-category", "code": "ecg"}
            ]
        }
    ],
    "code": {"text": "十二导联心电图"},
    "subject": {"identifier": {"system": ID_CARD, "value": "330702198001011232"}},
    "requester": {"reference": "Organization/tx-wsy"},
    "performer": [{"reference": "Organization/jhzx"}],
    "authoredOn": "2026-12-01",
}


def test_a_claimed_profile_is_enforced_at_the_element(gateway: Gateway):
    assert call(gateway, "POST", "/Patient", body=CN_PATIENT).status_code == 201
    before = versions(gateway)
    wrong = {**CN_PATIENT, "identifier": [{"system": ID_CARD, "value": "330702198001011234"}]}
    refused = call(gateway, "POST", "/Patient", body=wrong)
    assert refused.status_code == 422
    issue = refused.json()["issue"][0]
    assert issue["expression"] == ["Patient.identifier[0]"]
    assert "yl-id-card" in issue["diagnostics"]
    assert versions(gateway) == before
    # The same through a transaction: nothing of it is written.
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": PATIENT, "request": {"method": "POST", "url": "Patient"}},
            {"resource": wrong, "request": {"method": "POST", "url": "Patient"}},
        ],
    }
    refused = call(gateway, "POST", "", body=bundle)
    assert refused.status_code == 422
    assert refused.json()["issue"][0]["expression"] == [
        "Bundle.entry[1].resource.Patient.identifier[0]"
    ]
    assert versions(gateway) == before


def test_validate_against_a_named_profile(gateway: Gateway):
    profile = f"{SD}yilian-service-request"
    assert call(gateway, "POST", "/ServiceRequest/$validate", body=ORDER).status_code == 200
    checked = call(gateway, "POST", f"/ServiceRequest/$validate?profile={profile}", body=ORDER)
    assert checked.status_code == 422
    assert [i["expression"] for i in checked.json()["issue"]] == [["ServiceRequest.identifier"]] * 2
    numbered = {**ORDER, "identifier": [{"system": "urn:oid:2.16.156.10011.1.24", "value": "A7"}]}
    parameters = {
        "resourceType": "Parameters",
        "parameter": [{"name": "resource", "resource": numbered},
                      {"name": "profile", "valueUri": profile}],
    }  # fmt: skip
    assert call(gateway, "POST", "/ServiceRequest/$validate", body=parameters).status_code == 200
    unknown = call(gateway, "POST", "/ServiceRequest/$validate?profile=urn:nope", body=ORDER)
    assert unknown.status_code == 400


def test_capability_statement_lists_the_profiles(gateway: Gateway):
    statement = call(gateway, "GET", "/metadata").json()
    resources = {r["type"]: r for r in statement["rest"][0]["resource"]}
    assert resources["Patient"]["supportedProfile"] == [f"{SD}yilian-patient"]
    assert resources["ServiceRequest"]["supportedProfile"] == [
        f"{SD}yilian-referral", f"{SD}yilian-service-request"]  # fmt: skip
    assert "profile" not in resources["ServiceRequest"]
    assert "supportedProfile" not in resources["Consent"]


def test_the_alliance_terminology_is_published(gateway: Gateway):
    url = "http://yilian.example/fhir/CodeSystem/repeat-reason"
    found = call(gateway, "GET", f"/CodeSystem?url={url}").json()
    assert found.get("total") == 1, found
    reasons = {c["code"]: c["definition"] for c in found["entry"][0]["resource"]["concept"]}
    assert reasons["eqa-failed"] == "出具机构室间质评不合格"
    assert len(reasons) == 10
    value_set = call(gateway, "GET", "/ValueSet/exam-category").json()
    assert value_set["compose"]["include"][0]["system"].endswith("CodeSystem/exam-category")
    # Published once: a restart over the same database writes no new version.
    publish_terminology(gateway.node.platform)
    assert call(gateway, "GET", "/CodeSystem/repeat-reason").json()["meta"]["versionId"] == "1"


def test_a_required_profile_holds_every_write_of_its_type(tmp_path: Path, demo_sqlite: Path):
    profile = f"{SD}yilian-service-request"
    with start_gateway(
        tmp_path, demo_sqlite, fhir_required_profiles={"ServiceRequest": [profile]}
    ) as gateway:
        before = versions(gateway)
        refused = call(gateway, "POST", "/ServiceRequest", body=ORDER)
        assert refused.status_code == 422
        assert "电子申请单号" in refused.text
        assert versions(gateway) == before
        numbered = {
            **ORDER, "identifier": [{"system": "urn:oid:2.16.156.10011.1.24", "value": "A8"}]
        }  # fmt: skip
        assert call(gateway, "POST", "/ServiceRequest", body=numbered).status_code == 201
        statement = call(gateway, "GET", "/metadata").json()
        resources = {r["type"]: r for r in statement["rest"][0]["resource"]}
        assert resources["ServiceRequest"]["profile"] == profile
    with pytest.raises(ValueError, match="unknown profiles"):
        Validator(0, {"Patient": [f"{SD}nothing"]})


def test_committed_definitions_are_what_the_fsh_compiles_to(
    tmp_path: Path, r4_examples_archive: Path
):
    written = build(r4_examples_archive, tmp_path / "yilian")
    assert sorted(p.name for p in OUTPUT.glob("*.json")) == written
    for name in written:
        fresh = json.loads((tmp_path / "yilian" / name).read_text())
        assert json.loads((OUTPUT / name).read_text()) == fresh, name
