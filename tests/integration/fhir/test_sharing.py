"""Who sees what beyond their own data: an order by the organization it is placed with, a
report by the organization whose order it answers; nobody else (storage.policy)."""

from __future__ import annotations

import pytest

from tests.integration.dicomweb.conftest import Gateway
from tests.integration.fhir.test_rest import call

PATIENT = {
    "resourceType": "Patient",
    "identifier": [{"system": "urn:yilian:patient-id:tx-wsy", "value": "TX000777"}],
    "name": [{"text": "李四"}],
}


@pytest.fixture
def order_and_reports(gateway: Gateway) -> dict[str, str]:
    """The township clinic tx-wsy orders a pathology exam from the district hospital wcrm; the
    lead hospital jhzx writes a report for that order and one of its own."""
    patient = call(gateway, "POST", "/Patient", "his-tx-wsy", PATIENT).json()["id"]
    order = {
        "resourceType": "ServiceRequest",
        "status": "active",
        "intent": "order",
        "code": {"text": "病理检查"},
        "subject": {"reference": f"Patient/{patient}"},
        "requester": {"reference": "Organization/tx-wsy"},
        "performer": [{"reference": "Organization/wcrm"}],
    }
    ordered = call(gateway, "POST", "/ServiceRequest", "his-tx-wsy", order)
    assert ordered.status_code == 201
    order_id = ordered.json()["id"]
    report = {
        "resourceType": "DiagnosticReport",
        "status": "final",
        "code": {"text": "病理诊断报告"},
        "subject": {"reference": f"Patient/{patient}"},
        "basedOn": [{"reference": f"ServiceRequest/{order_id}"}],
    }
    answered = call(gateway, "POST", "/DiagnosticReport", "his-jhzx", report).json()["id"]
    unrelated = {key: value for key, value in report.items() if key != "basedOn"}
    own = call(gateway, "POST", "/DiagnosticReport", "his-jhzx", unrelated).json()["id"]
    return {"order": order_id, "report": answered, "own": own}


# (who, what, may see) — who-sees-what for the order and the reports.
TABLE = [
    ("his-tx-wsy", "ServiceRequest/order", True),  # placed it
    ("his-wcrm", "ServiceRequest/order", True),  # it was placed with them
    ("his-jhzx", "ServiceRequest/order", True),  # the lead's centres serve tx-wsy
    ("his-cd-sq", "ServiceRequest/order", False),
    ("his-tx-wsy", "DiagnosticReport/report", True),  # answers its order
    ("his-wcrm", "DiagnosticReport/report", True),  # answers an order placed with them
    ("his-cd-sq", "DiagnosticReport/report", False),
    ("his-tx-wsy", "DiagnosticReport/own", False),  # the lead's own report is not opened
    ("his-wcrm", "DiagnosticReport/own", False),
]


@pytest.mark.parametrize(("who", "what", "sees"), TABLE)
def test_who_sees_what(
    gateway: Gateway, order_and_reports: dict[str, str], who: str, what: str, sees: bool
):
    kind, key = what.split("/")
    resource_id = order_and_reports[key]
    read = call(gateway, "GET", f"/{kind}/{resource_id}", who)
    assert read.status_code == (200 if sees else 404), read.text
    found = call(gateway, "GET", f"/{kind}?_id={resource_id}", who).json()
    assert len(found.get("entry", [])) == (1 if sees else 0)
    history = call(gateway, "GET", f"/{kind}/_history", who).json()
    ids = {e["resource"]["id"] for e in history.get("entry", []) if "resource" in e}
    assert (resource_id in ids) == sees


def test_the_clinic_finds_the_report_of_its_order(
    gateway: Gateway, order_and_reports: dict[str, str]
):
    order = order_and_reports["order"]
    found = call(gateway, "GET", f"/DiagnosticReport?based-on=ServiceRequest/{order}", "his-tx-wsy")
    assert [e["resource"]["id"] for e in found.json()["entry"]] == [order_and_reports["report"]]
    incoming = call(gateway, "GET", "/ServiceRequest?performer=Organization/wcrm", "his-wcrm")
    assert [e["resource"]["id"] for e in incoming.json()["entry"]] == [order]


def test_a_patients_consent_can_withdraw_sharing(gateway: Gateway):
    """The lead hospital sees a township clinic's patient (its centres serve the clinic) until
    the patient's Consent denies it; its own report about the patient stays visible to it."""
    patient = call(gateway, "POST", "/Patient", "his-tx-wsy", PATIENT).json()["id"]
    subject = {"reference": f"Patient/{patient}"}
    order = {"resourceType": "ServiceRequest", "status": "active", "intent": "order",
             "code": {"text": "胸部CT"}, "subject": subject}  # fmt: skip
    order_id = call(gateway, "POST", "/ServiceRequest", "his-tx-wsy", order).json()["id"]
    report = {"resourceType": "DiagnosticReport", "status": "final", "code": {"text": "CT"},
              "subject": subject}  # fmt: skip
    own = call(gateway, "POST", "/DiagnosticReport", "his-jhzx", report).json()["id"]

    def lead_sees() -> list[bool]:
        reads = [f"/Patient/{patient}", f"/ServiceRequest/{order_id}", f"/DiagnosticReport/{own}"]
        found = call(gateway, "GET", f"/ServiceRequest?subject=Patient/{patient}", "his-jhzx")
        return [call(gateway, "GET", path, "his-jhzx").status_code == 200 for path in reads] + [
            bool(found.json().get("entry"))
        ]

    assert lead_sees() == [True, True, True, True]
    consent = {
        "resourceType": "Consent",
        "status": "active",
        "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope",
                              "code": "patient-privacy"}]},
        "category": [{"text": "不同意共享"}],
        "patient": subject,
        "policyRule": {"text": "患者拒绝向牵头医院开放其资料"},
        "provision": {"type": "deny", "actor": [{
            "role": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                                 "code": "IRCP"}]},
            "reference": {"reference": "Organization/jhzx"}}]},
    }  # fmt: skip
    created = call(gateway, "POST", "/Consent", "his-tx-wsy", consent)
    assert created.status_code == 201, created.text
    assert lead_sees() == [False, False, True, False]
    assert call(gateway, "GET", f"/Patient/{patient}", "his-tx-wsy").status_code == 200
    withdrawn = {**created.json(), "status": "inactive"}
    consent_path = f"/Consent/{withdrawn['id']}"
    assert call(gateway, "PUT", consent_path, "his-tx-wsy", withdrawn).status_code == 200
    assert lead_sees() == [True, True, True, True]
