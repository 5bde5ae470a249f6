"""A person asks to see a patient's 身份证号 in full (``Patient/{id}/$reveal-identifier``): the
policy of reading the Patient decides, and each ask — shown or refused — leaves an access record
(who, which patient, which identifier, why) that the patient's trail in the admin audit search
shows."""

from __future__ import annotations

from tests.integration.admin.conftest import Admin
from tests.integration.fhir.test_rest import call

ID_CARD = "urn:oid:2.16.156.10011.1.3"
ID_NUMBER = "330702198001011232"
REVEAL = "$reveal-identifier"


def asked(reason: str = "", system: str = "") -> dict:
    given = [{"name": "reason", "valueString": reason}] if reason else []
    if system:
        given.append({"name": "system", "valueUri": system})
    return {"resourceType": "Parameters", "parameter": given}


def clinic_patient(admin: Admin) -> str:
    body = {
        "resourceType": "Patient",
        "name": [{"text": "钱多多"}],
        "identifier": [
            {"system": "urn:yilian:patient-id:tx-wsy", "value": "TX7788"},
            {"system": ID_CARD, "value": ID_NUMBER},
        ],
    }
    created = call(admin.gateway, "POST", "/Patient", "his-tx-wsy", body)
    assert created.status_code == 201, created.text
    return created.json()["id"]


def test_a_reader_of_the_lead_hospital_sees_the_number_and_it_is_recorded(admin: Admin):
    patient = clinic_patient(admin)
    gateway = admin.gateway
    shown = call(gateway, "POST", f"/Patient/{patient}/{REVEAL}", "wanglei", asked("核对身份"))
    assert shown.status_code == 200, shown.text
    assert shown.json()["parameter"] == [
        {"name": "identifier", "valueIdentifier": {"system": ID_CARD, "value": ID_NUMBER}}
    ]
    # The clinic's own patient id, asked for by its system.
    own = call(gateway, "POST", f"/Patient/{patient}/{REVEAL}", "jianghua",
               asked(system="urn:yilian:patient-id:tx-wsy"))  # fmt: skip
    assert own.json()["parameter"][0]["valueIdentifier"]["value"] == "TX7788"

    trail = [r for r in admin.audit(patient=patient) if r["action"] == "reveal-identifier"]
    assert [(r["actor"], r["organization"], r["outcome"]) for r in trail] == [
        ("jianghua", "tx-wsy", "success"),
        ("wanglei", "jhzx", "success"),
    ]
    assert trail[1]["entities"] == {
        "resource_type": "Patient",
        "id": patient,
        "identifier_system": ID_CARD,
        "reason": "核对身份",
    }
    assert ID_NUMBER not in str(trail)  # the record names the identifier, never its value


def test_one_who_may_not_read_the_patient_gets_nothing_and_the_ask_is_recorded(admin: Admin):
    patient = clinic_patient(admin)
    gateway = admin.gateway
    other_clinic = call(gateway, "POST", f"/Patient/{patient}/{REVEAL}", "xugang", asked())
    assert other_clinic.status_code == 404
    assert ID_NUMBER not in other_clinic.text
    assert other_clinic.json()["resourceType"] == "OperationOutcome"
    assert call(gateway, "GET", f"/Patient/{patient}", "xugang").status_code == 404  # same rule

    no_scope = {"Authorization": f"Bearer {gateway.token('his-jhzx', 'system/Observation.rs')}"}
    narrow = call(gateway, "POST", f"/Patient/{patient}/{REVEAL}", body=asked(), **no_scope)
    assert narrow.status_code == 403
    assert "Patient.r" in narrow.json()["issue"][0]["diagnostics"]

    [refused] = [r for r in admin.audit(patient=patient) if r["action"] == "reveal-identifier"]
    assert (refused["actor"], refused["organization"], refused["outcome"]) == (
        "xugang", "fc-wsy", "not_found",
    )  # fmt: skip


def test_bad_asks_are_clear_4xx(admin: Admin):
    patient = clinic_patient(admin)
    gateway = admin.gateway
    long = call(gateway, "POST", f"/Patient/{patient}/{REVEAL}", "wanglei", asked("因" * 501))
    assert long.status_code == 400
    assert "at most 500 characters" in long.json()["issue"][0]["diagnostics"]
    absent = call(gateway, "POST", f"/Patient/{patient}/{REVEAL}", "wanglei",
                  asked(system="urn:oid:2.16.156.10011.1.9"))  # fmt: skip
    assert absent.status_code == 404
    assert "has no identifier of system" in absent.json()["issue"][0]["diagnostics"]
    as_get = call(gateway, "GET", f"/Patient/{patient}/{REVEAL}", "wanglei")
    assert as_get.status_code in (404, 405)
    assert ID_NUMBER not in as_get.text
