"""The access log as FHIR AuditEvents: every read and write of patient data is there, with who,
which organization, what, when and the outcome; clients cannot write them."""

from __future__ import annotations

from datetime import UTC, datetime

from fhir_profiles.validation import validate
from tests.integration.dicomweb.conftest import Gateway
from tests.integration.fhir.test_rest import call

PATIENT = {"resourceType": "Patient", "name": [{"text": "王五"}], "gender": "male"}


def test_accesses_are_audit_events(gateway: Gateway):
    patient = call(gateway, "POST", "/Patient", "his-tx-wsy", PATIENT).json()["id"]
    assert call(gateway, "GET", f"/Patient/{patient}", "his-tx-wsy").status_code == 200
    assert call(gateway, "GET", "/Patient/no-such-one", "his-tx-wsy").status_code == 404
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    query = f"/AuditEvent?agent=Organization/tx-wsy&date=ge{today}"
    found = call(gateway, "GET", query, "his-jhzx").json()
    events = [e["resource"] for e in found["entry"]]
    assert all(validate(event) == [] for event in events)
    assert [(e["action"], e["subtype"][0]["code"], e["outcome"]) for e in events] == [
        ("R", "read", "4"),  # newest first: the unknown patient
        ("R", "read", "0"),
        ("C", "create", "0"),
    ]
    created = events[2]
    assert created["agent"][0]["who"] == {
        "identifier": {"value": "his-tx-wsy"},
        "display": "his-tx-wsy",
        "reference": "Organization/tx-wsy",
    }
    assert created["entity"] == [{"what": {"reference": f"Patient/{patient}"}}]
    assert created["recorded"].startswith(today)
    creates = call(gateway, "GET", f"{query}&action=C", "his-jhzx").json()["entry"]
    assert [e["resource"]["id"] for e in creates] == [created["id"]]
    failed = call(gateway, "GET", f"{query}&outcome=4", "his-jhzx").json()["entry"]
    assert [e["resource"]["id"] for e in failed] == [events[0]["id"]]
    one = call(gateway, "GET", f"/AuditEvent/{created['id']}", "his-jhzx")
    assert one.json() == created
    assert call(gateway, "GET", "/AuditEvent/999999", "his-jhzx").status_code == 404


def test_audit_events_are_read_only(gateway: Gateway):
    event = {"resourceType": "AuditEvent", "type": {"code": "rest"},
             "recorded": "2026-11-24T00:00:00Z", "agent": [{"requestor": True}],
             "source": {"observer": {"display": "x"}}}  # fmt: skip
    refused = call(gateway, "POST", "/AuditEvent", "his-jhzx", event)
    assert refused.status_code == 405
    assert refused.json()["issue"][0]["code"] == "not-supported"
    assert call(gateway, "GET", "/AuditEvent", "his-tx-wsy").status_code == 403  # no scope
    assert call(gateway, "GET", "/AuditEvent?_elements=id", "his-jhzx").status_code == 400
    statement = call(gateway, "GET", "/metadata", "his-jhzx").json()
    [audit] = [r for r in statement["rest"][0]["resource"] if r["type"] == "AuditEvent"]
    assert [i["code"] for i in audit["interaction"]] == ["read", "search-type"]
