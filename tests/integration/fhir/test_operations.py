"""Every FHIR operation is found the way a client looks for it: listed in the
CapabilityStatement, its OperationDefinition served at the URL named there (valid R4, read by
an R4 client library), and its route answering at the level the definition states."""

from __future__ import annotations

import httpx
import pytest
from fhirclient.models.operationdefinition import OperationDefinition

from gateway.fhir import operations
from tests.integration.dicomweb.conftest import Gateway
from tests.integration.fhir.test_rest import call


def test_capability_statement_names_operations_whose_definitions_are_served(gateway: Gateway):
    statement = httpx.get(f"{gateway.url}/fhir/metadata").json()
    named = {
        (resource["type"], op["name"]): op["definition"]
        for resource in statement["rest"][0]["resource"]
        for op in resource.get("operation", [])
    }
    assert ("Communication", "acknowledge") in named
    assert ("ServiceRequest", "turnaround-figures") in named
    assert ("Observation", "validate") in named
    for (resource_type, code), url in named.items():
        definition_id = url.rsplit("/", 1)[1]
        response = httpx.get(f"{gateway.url}/fhir/OperationDefinition/{definition_id}")
        assert response.status_code == 200, url
        definition = response.json()
        assert definition["url"] == url
        assert definition["code"] == code
        assert resource_type in definition["resource"] or "Resource" in definition["resource"]
        OperationDefinition(definition, strict=True)  # fhirclient's exact R4 model


def test_operation_definitions_are_searchable_and_an_unknown_one_is_404(gateway: Gateway):
    bundle = httpx.get(f"{gateway.url}/fhir/OperationDefinition").json()
    served = {entry["resource"]["id"] for entry in bundle["entry"]}
    assert served == {op.id for op in operations.registered()}
    assert bundle["total"] == len(served)
    missing = httpx.get(f"{gateway.url}/fhir/OperationDefinition/Patient-nothing")
    assert missing.status_code == 404
    assert missing.json()["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize("operation", operations.registered(), ids=lambda op: op.id)
def test_each_operation_answers_at_the_level_it_declares(gateway: Gateway, operation):
    """An instance operation on an unknown id is the operation's own 404; a type operation
    reaches its handler (never a read of a resource whose id would be ``$code``)."""
    resource_type = "Patient" if "Resource" in operation.resources else operation.resources[0]
    takes_resource = operation.code in ("validate", "match")  # only in a POSTed body
    method = "POST" if operation.affects_state or takes_resource else "GET"
    given = [{"name": p.name, "valueString": "x"} for p in operation.parameters
             if p.use == "in" and p.type == "string"]  # fmt: skip
    body = {"resourceType": "Parameters", "parameter": given} if given else None
    if operation.instance_level:
        path = f"/{resource_type}/no-such-id/${operation.code}"
        response = call(gateway, method, path, "his-jhzx", body=body)  # a client of every scope
        assert response.status_code == 404
        assert "no-such-id" in response.json()["issue"][0]["diagnostics"]
    else:
        response = call(gateway, method, f"/{resource_type}/${operation.code}")
        # 400: $validate or $match was sent no body; 403: a clinic does not review patient links
        assert response.status_code in (200, 400, 403)
        assert "is not known" not in response.text
