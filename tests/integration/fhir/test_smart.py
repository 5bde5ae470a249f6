"""What off-the-shelf FHIR clients find without being told: SMART discovery at the FHIR base
and the token endpoint in the CapabilityStatement; and fhirpy's ``patch()``, a JSON Merge
Patch, applied like any update."""

from __future__ import annotations

import httpx
from fhirclient.models.capabilitystatement import CapabilityStatement
from fhirpy import SyncFHIRClient

from tests.integration.dicomweb.conftest import Gateway
from tests.integration.fhir.test_rest import PATIENT, call

OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"


def test_smart_discovery_is_public_at_the_fhir_base(gateway: Gateway):
    found = httpx.get(f"{gateway.url}/fhir/.well-known/smart-configuration")
    assert found.status_code == 200
    assert found.json()["token_endpoint"] == f"{gateway.url}/auth/token"
    statement = httpx.get(f"{gateway.url}/fhir/metadata").json()
    security = CapabilityStatement(statement, strict=True).rest[0].security
    [uris] = [e for e in security.extension if e.url == OAUTH_URIS]
    assert {e.url: e.valueUri for e in uris.extension} == {
        "authorize": f"{gateway.url}/auth/authorize",
        "token": f"{gateway.url}/auth/token",
        "revoke": f"{gateway.url}/auth/logout",
    }


def test_fhirpy_patch_changes_what_it_names_and_removes_what_it_nulls(gateway: Gateway):
    stored = call(gateway, "POST", "/Patient", body={**PATIENT, "active": True}).json()
    client = SyncFHIRClient(
        f"{gateway.url}/fhir", authorization=f"Bearer {gateway.token('his-tx-wsy')}"
    )
    patched = client.patch("Patient", stored["id"], gender="female", active=None)
    assert (patched["gender"], "active" in patched) == ("female", False)
    read = call(gateway, "GET", f"/Patient/{stored['id']}").json()
    assert read["meta"]["versionId"] == "2"
    assert read["name"] == PATIENT["name"]  # untouched elements stay


def test_an_invalid_merge_patch_is_refused_and_fhirpath_patch_is_415(gateway: Gateway):
    stored = call(gateway, "POST", "/Patient", body=PATIENT).json()
    path = f"/Patient/{stored['id']}"
    merge = {"Content-Type": "application/merge-patch+json"}
    assert call(gateway, "PATCH", path, body={"gender": "unknown-ish"}, **merge).status_code == 422
    fhirpath = {"resourceType": "Parameters", "parameter": [{"name": "operation"}]}
    refused = call(gateway, "PATCH", path, body=fhirpath)
    assert refused.status_code == 415
    assert "application/merge-patch+json" in refused.json()["issue"][0]["diagnostics"]
    assert call(gateway, "GET", path).json()["meta"]["versionId"] == "1"
