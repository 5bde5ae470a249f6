"""Transaction Bundles are all or nothing with ``urn:uuid:`` references resolved; batch
Bundles answer entry by entry."""

from __future__ import annotations

import json

import httpx

from tests.integration.dicomweb.conftest import Gateway
from tests.integration.fhir.test_rest import versions

FHIR_JSON = "application/fhir+json"
PATIENT = {"resourceType": "Patient", "name": [{"text": "李四"}], "gender": "female"}
ORDER = {
    "resourceType": "ServiceRequest",
    "status": "active",
    "intent": "order",
    "code": {"text": "胸部CT平扫"},
    "subject": {"reference": "urn:uuid:6c1f0d3e-0000-4000-8000-000000000001"},
}


def post(gateway: Gateway, bundle: dict, who: str = "his-tx-wsy") -> httpx.Response:
    return httpx.post(
        f"{gateway.url}/fhir",
        headers={"Authorization": f"Bearer {gateway.token(who)}", "Content-Type": FHIR_JSON},
        content=json.dumps(bundle),
        timeout=60,
    )


def entry(resource: dict, method: str = "POST", url: str | None = None, full_url=None) -> dict:
    return {
        **({"fullUrl": full_url} if full_url else {}),
        "resource": resource,
        "request": {"method": method, "url": url or resource["resourceType"]},
    }


def test_transaction_resolves_placeholders(gateway: Gateway):
    placeholder = "urn:uuid:6c1f0d3e-0000-4000-8000-000000000001"
    response = post(
        gateway,
        {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [entry(ORDER), entry(PATIENT, full_url=placeholder)],
        },
    )
    assert response.status_code == 200
    answer = response.json()
    assert answer["type"] == "transaction-response"
    order_location, patient_location = (e["response"]["location"] for e in answer["entry"])
    assert [e["response"]["status"] for e in answer["entry"]] == ["201 Created", "201 Created"]
    headers = {"Authorization": f"Bearer {gateway.token('his-tx-wsy')}"}
    order = httpx.get(f"{gateway.url}/fhir/{order_location.split('/_history')[0]}", headers=headers)
    patient_ref = "/".join(patient_location.split("/")[:2])
    assert order.json()["subject"]["reference"] == patient_ref


def test_transaction_is_all_or_nothing(gateway: Gateway):
    before = versions(gateway)
    invalid = post(
        gateway,
        {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [entry(PATIENT), entry({**PATIENT, "gender": "unknown-value!", "x": 1})],
        },
    )
    assert invalid.status_code == 422
    expressions = [e for i in invalid.json()["issue"] for e in i.get("expression", [])]
    assert "Bundle.entry[1].resource.Patient.x" in expressions
    # A large one is written while its last resources are still being validated (in worker
    # processes): an invalid one near its end still leaves nothing behind.
    many = [entry({**PATIENT, "name": [{"text": f"患者{n}"}]}) for n in range(150)]
    many[140] = entry({**PATIENT, "birthDate": "1990-13-45"})
    late = post(gateway, {"resourceType": "Bundle", "type": "transaction", "entry": many})
    assert late.status_code == 422
    expressions = [e for i in late.json()["issue"] for e in i.get("expression", [])]
    assert expressions == ["Bundle.entry[140].resource.Patient.birthDate"]
    forbidden = post(
        gateway,
        {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [
                entry(PATIENT),
                entry({"resourceType": "CodeSystem", "status": "draft", "content": "not-present"}),
            ],
        },
    )
    assert forbidden.status_code == 405  # clients do not write CodeSystems: nothing stored
    assert "Bundle.entry[1]" in forbidden.json()["issue"][0]["diagnostics"]
    assert versions(gateway) == before


def test_batch_answers_each_entry(gateway: Gateway):
    response = post(
        gateway,
        {
            "resourceType": "Bundle",
            "type": "batch",
            "entry": [
                entry(PATIENT),
                {"request": {"method": "GET", "url": "Patient/does-not-exist"}},
                entry({"resourceType": "CodeSystem", "status": "draft", "content": "not-present"}),
                entry({**PATIENT, "gender": "unknown-value!"}),
                entry(PATIENT),
            ],
        },
    )
    assert response.status_code == 200
    answers = response.json()["entry"]
    statuses = [e["response"]["status"] for e in answers]
    assert statuses == ["201 Created", "404", "405", "422", "201 Created"]
    [issue] = answers[3]["response"]["outcome"]["issue"]
    assert issue["expression"] == ["Bundle.entry[3].resource.Patient.gender"]
    assert versions(gateway) == 2


def test_malformed_and_oversized_bundles(gateway: Gateway):
    collection = post(gateway, {"resourceType": "Bundle", "type": "collection"})
    assert collection.status_code == 400
    conditional = post(
        gateway,
        {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [{"resource": PATIENT, "request": {"method": "PUT", "url": "Patient?x=1"}}],
        },
    )
    assert conditional.status_code == 400
    big = {"resourceType": "Bundle", "type": "batch", "entry": [entry(PATIENT)] * 1001}
    oversized = post(gateway, big)
    assert oversized.status_code == 413
    assert oversized.json()["issue"][0]["code"] == "too-costly"
    assert versions(gateway) == 0


def test_references_must_point_at_what_the_writer_may_see(gateway: Gateway):
    headers = {"Authorization": f"Bearer {gateway.token('his-wcrm')}", "Content-Type": FHIR_JSON}
    elsewhere = httpx.post(
        f"{gateway.url}/fhir/Patient", headers=headers, content=json.dumps(PATIENT)
    )
    before = versions(gateway)
    for reference, problem in [
        ("Patient/no-such-patient", "Patient/no-such-patient is not known"),
        (f"Patient/{elsewhere.json()['id']}", "is not known"),  # another member's: no probing
        ("Patient/", "is not a reference"),
    ]:
        order = {**ORDER, "subject": {"reference": reference}}
        refused = post(
            gateway, {"resourceType": "Bundle", "type": "batch", "entry": [entry(order)]}
        )
        [answer] = refused.json()["entry"]
        assert answer["response"]["status"] == "422"
        [issue] = answer["response"]["outcome"]["issue"]
        assert issue["expression"] == ["ServiceRequest.subject"]
        assert problem in issue["diagnostics"]
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            entry(PATIENT, full_url=ORDER["subject"]["reference"]),
            entry({**ORDER, "performer": [{"reference": "Practitioner/nobody"}]}),
        ],
    }
    refused = post(gateway, bundle)
    assert refused.status_code == 422
    assert refused.json()["issue"][0]["expression"] == ["ServiceRequest.performer[0]"]
    assert versions(gateway) == before  # nothing of either
