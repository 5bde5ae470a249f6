"""Mutual recognition at order time (区域互认), over the demo alliance: a head CT done at the
lead hospital (qualified for CT) is offered when 汤溪卫生院 orders a head CT for the same person
(its own record, the same 身份证号) inside the item's window — and not after it, not when the
institution's qualification had lapsed, not while the report is preliminary, not for another
person, not for another item; a potassium result the same way inside its 7 days.  The doctor
recognises one (the order is revoked) and repeats another with a reason; both are recorded as
DetectedIssues.  A forbidden decision gets its 4xx and changes nothing.  The same through CDS
Hooks: order-select and order-sign cards for draft orders, the feedback recorded."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from gateway.workflow.recognition import MARK_EXTENSION, MARK_TAG, marked
from gateway.workflow.recognition_decisions import REASONS
from storage.db import transaction
from storage.models import AuditRecord, RecognitionDecision
from tests.integration.dicomweb.conftest import Gateway, start_gateway
from tests.integration.fhir.referral_setup import CLINIC, LEAD, created, kept, patient
from tests.integration.fhir.test_rest import call

DCM = "http://dicom.nema.org/resources/ontology/DCM"
SNOMED = "http://snomed.info/sct"
HEAD, CHEST = "69536005", "51185008"
OTHER_CLINIC = "his-cz-sq"
_numbers = itertools.count(1)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, demo_sqlite: Path) -> Iterator[Gateway]:
    with start_gateway(tmp_path_factory.mktemp("recognition"), demo_sqlite) as running:
        yield running


def number() -> str:
    return f"33070219750101{next(_numbers) + 5000:04d}"


def ago(days: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat(timespec="seconds")


def ct(subject: dict[str, Any], site: str, text: str, **more: Any) -> dict[str, Any]:
    return {
        "resourceType": "ServiceRequest", "status": "active", "intent": "order",
        "code": {"coding": [{"system": DCM, "code": "CT"}], "text": text},
        "bodySite": [{"coding": [{"system": SNOMED, "code": site}]}],
        "subject": {"reference": f"Patient/{subject['id']}"}, **more,
    }  # fmt: skip


def ct_report(
    gateway: Gateway, org: str, subject: dict, days: float, site: str = HEAD, status: str = "final"
) -> dict[str, Any]:
    """A CT the institution did and reported ``days`` ago (its RIS keeps both)."""
    order = kept(gateway, org, ct(subject, site, "头颅CT平扫" if site == HEAD else "胸部CT平扫"))
    return kept(gateway, org, {
        "resourceType": "DiagnosticReport", "status": status,
        "code": order["code"], "subject": order["subject"],
        "basedOn": [{"reference": f"ServiceRequest/{order['id']}"}],
        "effectiveDateTime": ago(days), "issued": ago(days - 0.1),
        "performer": [{"reference": f"Organization/{org}"}],
        "conclusion": "颅脑CT平扫未见明显异常。",
    })  # fmt: skip


def potassium(gateway: Gateway, subject: dict, days: float) -> dict[str, Any]:
    return kept(gateway, "jhzx", {
        "resourceType": "Observation", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "2823-3"}], "text": "钾"},
        "subject": {"reference": f"Patient/{subject['id']}"}, "effectiveDateTime": ago(days),
        "valueQuantity": {"value": 4.1, "unit": "mmol/L"},
        "performer": [{"reference": "Organization/jhzx"}],
    })  # fmt: skip


def local(gateway: Gateway, org: str, id_number: str) -> dict[str, Any]:
    """The same person as ``org``'s own systems registered them."""
    return kept(gateway, org, {
        "resourceType": "Patient",
        "identifier": [{"system": "urn:oid:2.16.156.10011.1.3", "value": id_number}],
        "name": [{"text": "王小明"}], "gender": "male", "birthDate": "1975-01-01",
    })  # fmt: skip


def offered(gateway: Gateway, order: dict[str, Any], who: str = CLINIC) -> dict[str, Any]:
    if "id" in order:
        answer = call(gateway, "GET", f"/ServiceRequest/{order['id']}/$recognizable-results", who)
    else:
        body = {"resourceType": "Parameters", "parameter": [{"name": "order", "resource": order}]}
        answer = call(gateway, "POST", "/ServiceRequest/$recognizable-results", who, body=body)
    assert answer.status_code == 200, answer.text
    return answer.json()


def priors(answer: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {part["name"]: next(v for k, v in part.items() if k.startswith("value"))
         for part in p["part"]}
        for p in answer["parameter"] if p["name"] == "prior"
    ]  # fmt: skip


def decide(gateway: Gateway, order: dict, prior: str, who: str = CLINIC, **given: Any):
    parameter = [{"name": "prior", "valueReference": {"reference": prior}}]
    for name, value in given.items():
        key = "valueBoolean" if isinstance(value, bool) else (
            "valueString" if name == "reasonText" else "valueCode")  # fmt: skip
        parameter.append({"name": name, key: value})
    body = {"resourceType": "Parameters", "parameter": parameter}
    return call(gateway, "POST", f"/ServiceRequest/{order['id']}/$recognition-decision", who,
                body=body)  # fmt: skip


def test_a_head_ct_of_the_lead_hospital_is_offered_to_the_clinic_and_opens(gateway: Gateway):
    id_number = number()
    at_lead = patient(gateway, LEAD, id_number)
    report = ct_report(gateway, "jhzx", at_lead, days=10)
    at_clinic = patient(gateway, CLINIC, id_number)  # another record number, the same person
    assert call(gateway, "GET", f"/DiagnosticReport/{report['id']}").status_code == 404

    answer = offered(gateway, ct(at_clinic, HEAD, "头颅CT平扫"))
    [prior] = priors(answer)
    assert prior["item"]["code"] == "hr-ct-head"
    assert prior["item"]["display"] == "头颅CT平扫"
    assert prior["mark"] == "金HR"
    assert prior["result"]["reference"] == f"DiagnosticReport/{report['id']}"
    assert prior["institution"] == {"reference": "Organization/jhzx", "display": "金华市中心医院"}
    assert prior["price"] == {"value": 180.0, "currency": "CNY"}
    obtained = datetime.fromisoformat(prior["obtained"].replace("Z", "+00:00"))
    until = datetime.fromisoformat(prior["validUntil"].replace("Z", "+00:00"))
    assert until - obtained == timedelta(days=30)
    assert prior["conclusion"] == "颅脑CT平扫未见明显异常。"
    assert {
        "name": "prompt",
        "valueString": "有互认检查项目，请审阅并选择『互认』或『不互认』",
    } in (answer["parameter"])
    # 调阅报告: the clinic now opens the prior report.
    opened = call(gateway, "GET", f"/DiagnosticReport/{report['id']}")
    assert opened.status_code == 200
    assert opened.json()["conclusion"] == prior["conclusion"]
    # A chest CT for the same person is another item: nothing to recognise.
    assert priors(offered(gateway, ct(at_clinic, CHEST, "胸部CT平扫"))) == []
    with transaction(gateway.node.platform.sessions) as session:
        audited = session.scalars(
            select(AuditRecord).where(AuditRecord.action == "operation").order_by(AuditRecord.id)
        ).all()
    assert any(f"DiagnosticReport/{report['id']}" in str(r.entities) for r in audited)


def test_what_is_not_recognisable_is_not_offered(gateway: Gateway):
    id_number = number()
    at_lead = patient(gateway, LEAD, id_number)
    ct_report(gateway, "jhzx", at_lead, days=31)  # after the 30-day window
    ct_report(gateway, "jhzx", at_lead, days=2, status="preliminary")  # not released
    ct_report(gateway, "wcdy", local(gateway, "wcdy", id_number), days=3)  # its CT QC lapsed
    ct_report(gateway, "jhzx", patient(gateway, LEAD, number()), days=1)  # another person
    ct_report(gateway, "jhzx", at_lead, days=4, site=CHEST)  # another item
    at_clinic = patient(gateway, CLINIC, id_number)
    assert priors(offered(gateway, ct(at_clinic, HEAD, "头颅CT平扫"))) == []
    [chest] = priors(offered(gateway, ct(at_clinic, CHEST, "胸部CT平扫")))
    assert chest["item"]["code"] == "hr-ct-chest"
    # A county hospital qualified for CT is recognised like the lead hospital.
    ct_report(gateway, "wcrm", local(gateway, "wcrm", id_number), days=5)
    [head] = priors(offered(gateway, ct(at_clinic, HEAD, "头颅CT平扫")))
    assert head["institution"]["display"] == "婺城区人民医院"


def test_a_potassium_is_recognisable_for_seven_days(gateway: Gateway):
    id_number = number()
    at_lead = patient(gateway, LEAD, id_number)
    recent, old = potassium(gateway, at_lead, days=3), potassium(gateway, at_lead, days=8)
    order = {
        "resourceType": "ServiceRequest", "status": "active", "intent": "order",
        "code": {"coding": [{"system": "http://loinc.org", "code": "2823-3"}], "text": "血钾"},
        "subject": {"reference": f"Patient/{patient(gateway, CLINIC, id_number)['id']}"},
    }  # fmt: skip
    [prior] = priors(offered(gateway, order))
    assert prior["result"]["reference"] == f"Observation/{recent['id']}"
    assert prior["mark"] == "浙HR"
    assert f"Observation/{old['id']}" not in str(prior)


def issues_count(gateway: Gateway) -> int:
    with transaction(gateway.node.platform.sessions) as session:
        return session.scalar(select(func.count()).select_from(RecognitionDecision)) or 0


def test_the_doctor_recognises_one_and_repeats_another_with_a_reason(gateway: Gateway):
    id_number = number()
    at_lead = patient(gateway, LEAD, id_number)
    head = ct_report(gateway, "jhzx", at_lead, days=6)
    chest = ct_report(gateway, "jhzx", at_lead, days=20, site=CHEST)
    at_clinic = patient(gateway, CLINIC, id_number)
    head_order = created(gateway, CLINIC, ct(at_clinic, HEAD, "头颅CT平扫"))
    chest_order = created(gateway, CLINIC, ct(at_clinic, CHEST, "胸部CT平扫"))
    [offer] = priors(offered(gateway, head_order))
    assert offer["result"]["reference"] == f"DiagnosticReport/{head['id']}"

    recognised = decide(gateway, head_order, f"DiagnosticReport/{head['id']}",
                        decision="recognised", explained=True)  # fmt: skip
    assert recognised.status_code == 201, recognised.text
    issue = recognised.json()
    assert issue["resourceType"] == "DetectedIssue"
    assert [i["reference"] for i in issue["implicated"]] == [
        f"ServiceRequest/{head_order['id']}",
        f"DiagnosticReport/{head['id']}",
    ]
    assert [m["action"]["coding"][0]["code"] for m in issue["mitigation"]] == [
        "recognised",
        "explained",
    ]
    assert call(gateway, "GET", f"/DetectedIssue/{issue['id']}").status_code == 200
    revoked = call(gateway, "GET", f"/ServiceRequest/{head_order['id']}").json()
    assert revoked["status"] == "revoked"  # the examination is not repeated
    again = decide(gateway, head_order, f"DiagnosticReport/{head['id']}",
                   decision="recognised", explained=True)  # fmt: skip
    assert again.status_code == 409

    before = issues_count(gateway)
    refusals = [
        (decide(gateway, chest_order, f"DiagnosticReport/{chest['id']}", decision="repeated",
                explained=True), 422),  # no reason
        (decide(gateway, chest_order, f"DiagnosticReport/{chest['id']}", decision="repeated",
                reason="other", explained=True), 422),  # 其他 without words
        (decide(gateway, chest_order, f"DiagnosticReport/{head['id']}", decision="recognised",
                explained=True), 409),  # a head CT is not recognisable for a chest CT
        (decide(gateway, chest_order, f"DiagnosticReport/{chest['id']}", OTHER_CLINIC,
                decision="recognised", explained=True), 404),  # not its order
    ]  # fmt: skip
    for answer, status in refusals:
        assert answer.status_code == status, answer.text
        assert answer.json()["resourceType"] == "OperationOutcome"
    assert issues_count(gateway) == before
    assert call(gateway, "GET", f"/ServiceRequest/{chest_order['id']}").json()["status"] == "active"

    repeated = decide(gateway, chest_order, f"DiagnosticReport/{chest['id']}",
                      decision="repeated", reason="condition-changed",
                      reasonText="咯血加重", explained=True)  # fmt: skip
    assert repeated.status_code == 201, repeated.text
    mitigation = repeated.json()["mitigation"][0]
    assert mitigation["action"]["text"] == "病情变化；咯血加重"
    assert mitigation["extension"][0]["valueCodeableConcept"]["coding"][0]["code"] == (
        "condition-changed"
    )
    assert call(gateway, "GET", f"/ServiceRequest/{chest_order['id']}").json()["status"] == "active"
    with transaction(gateway.node.platform.sessions) as session:
        rows = session.scalars(
            select(RecognitionDecision).where(
                RecognitionDecision.order_ref.in_([f"ServiceRequest/{head_order['id']}",
                                                   f"ServiceRequest/{chest_order['id']}"])
            ).order_by(RecognitionDecision.decided_at)
        ).all()  # fmt: skip
        assert [(r.decision, r.reason, str(r.price)) for r in rows] == [
            ("recognised", None, "180.00"),
            ("repeated", "condition-changed", "0.00"),
        ]


def hook_call(
    gateway: Gateway,
    service: str,
    hook: str,
    subject: dict,
    drafts: list[dict],
    who: str = CLINIC,
    **context: Any,
):
    """A CDS Hooks request as the specification's examples shape it."""
    body = {
        "hookInstance": str(uuid.uuid4()), "hook": hook, "fhirServer": "https://his.example/fhir",
        "context": {"userId": "Practitioner/jianghua", "patientId": subject["id"],
                    "encounterId": "89284", **context,
                    "draftOrders": {"resourceType": "Bundle", "type": "collection",
                                    "entry": [{"resource": d} for d in drafts]}},
    }  # fmt: skip
    return httpx.post(f"{gateway.url}/cds-services/{service}", json=body,
                      headers={"Authorization": f"Bearer {gateway.token(who)}"})  # fmt: skip


def feedback(gateway: Gateway, service: str, entry: dict, who: str = CLINIC):
    entry = {"outcomeTimestamp": datetime.now(UTC).isoformat(), **entry}
    return httpx.post(f"{gateway.url}/cds-services/{service}/feedback", json={"feedback": [entry]},
                      headers={"Authorization": f"Bearer {gateway.token(who)}"})  # fmt: skip


def test_cds_hooks_cards_for_draft_orders_and_the_feedback_recorded(gateway: Gateway):
    services = httpx.get(f"{gateway.url}/cds-services").json()["services"]
    assert {(s["id"], s["hook"]) for s in services} == {
        ("yilian-recognition-select", "order-select"),
        ("yilian-recognition-sign", "order-sign"),
    }
    id_number = number()
    at_lead = patient(gateway, LEAD, id_number)
    head = ct_report(gateway, "jhzx", at_lead, days=3)
    chest = ct_report(gateway, "jhzx", at_lead, days=30, site=CHEST)
    at_clinic = patient(gateway, CLINIC, id_number)
    drafts = [
        ct(at_clinic, HEAD, "头颅CT平扫", id="draft-head", status="draft"),
        ct(at_clinic, CHEST, "胸部CT平扫", id="draft-chest", status="draft"),
    ]

    selected = hook_call(gateway, "yilian-recognition-select", "order-select", at_clinic, drafts,
                         selections=["ServiceRequest/draft-head"])  # fmt: skip
    assert selected.status_code == 200, selected.text
    [card] = selected.json()["cards"]  # only the selected draft is looked at
    assert card["summary"].startswith("可互认：金华市中心医院")
    assert len(card["summary"]) < 140
    assert card["indicator"] in ("info", "warning", "critical")
    assert card["source"]["label"] == "医联 区域互认"
    assert card["selectionBehavior"] == "at-most-one"
    [suggestion] = card["suggestions"]
    assert suggestion["actions"] == [{"type": "delete", "description": "撤销本次医嘱（结果互认）",
                                      "resourceId": "ServiceRequest/draft-head"}]  # fmt: skip
    assert {"system": REASONS, "code": "condition-changed", "display": "病情变化"} in (
        card["overrideReasons"]
    )
    assert card["extension"]["cn.yilian.prior"]["result"] == f"DiagnosticReport/{head['id']}"
    accepted = feedback(gateway, "yilian-recognition-select", {
        "card": card["uuid"], "outcome": "accepted",
        "acceptedSuggestions": [{"id": suggestion["uuid"]}]})  # fmt: skip
    assert accepted.status_code == 200, accepted.text

    signing = hook_call(gateway, "yilian-recognition-sign", "order-sign", at_clinic, drafts[1:])
    [chest_card] = signing.json()["cards"]
    assert chest_card["extension"]["cn.yilian.prior"]["result"] == f"DiagnosticReport/{chest['id']}"
    assert (
        feedback(
            gateway, "yilian-recognition-sign", {"card": chest_card["uuid"]}, OTHER_CLINIC
        ).status_code
        == 400
    )  # no outcome
    assert (
        feedback(
            gateway,
            "yilian-recognition-sign",
            {"card": chest_card["uuid"], "outcome": "overridden"},
            OTHER_CLINIC,
        ).status_code
        == 404
    )
    overridden = feedback(gateway, "yilian-recognition-sign", {
        "card": chest_card["uuid"], "outcome": "overridden",
        "overrideReason": {"reason": {"system": REASONS, "code": "patient-request"},
                           "userComment": "患者要求在本院复查"}})  # fmt: skip
    assert overridden.status_code == 200, overridden.text
    with transaction(gateway.node.platform.sessions) as session:
        rows = session.scalars(
            select(RecognitionDecision).where(RecognitionDecision.order_ref.in_(
                ["ServiceRequest/draft-head", "ServiceRequest/draft-chest"])
            ).order_by(RecognitionDecision.decided_at)
        ).all()  # fmt: skip
        assert [(r.decision, r.reason, r.org_id) for r in rows] == [
            ("recognised", None, "tx-wsy"),
            ("repeated", "patient-request", "tx-wsy"),
        ]
        issue_ids = [r.id for r in rows]
    issue = call(gateway, "GET", f"/DetectedIssue/{issue_ids[1]}").json()
    assert issue["mitigation"][0]["action"]["text"] == "患者要求；患者要求在本院复查"
    wrong_hook = hook_call(gateway, "yilian-recognition-sign", "order-select", at_clinic, drafts)
    assert wrong_hook.status_code == 400


def test_a_released_report_of_a_qualified_centre_carries_the_mark(gateway: Gateway):
    """What verification stamps on a report (the PDF prints the extension in its box)."""
    order = ct({"id": "x"}, HEAD, "头颅CT平扫")
    report = {"resourceType": "DiagnosticReport", "status": "final", "effectiveDateTime": ago(0),
              "meta": {"profile": ["p"]}}  # fmt: skip
    with transaction(gateway.node.platform.sessions) as session:
        lead = marked(session, report, order, "jhzx")
        lapsed = marked(session, report, order, "wcdy")
        chest = marked(session, report, ct({"id": "x"}, CHEST, "胸部CT平扫"), "jhzx")
        unknown = marked(session, report, ct({"id": "x"}, "12738006", "CT 其他部位"), "jhzx")
    assert lead["extension"] == [{"url": MARK_EXTENSION, "valueString": "金HR"}]
    assert lead["meta"] == {"profile": ["p"], "tag": [
        {"system": MARK_TAG, "code": "金HR", "display": "头颅CT平扫（金HR）"}]}  # fmt: skip
    assert chest["meta"]["tag"][0]["display"] == "胸部CT平扫（金HR）"
    assert lapsed == report  # its CT qualification lapsed: no mark
    assert unknown == report  # not an item of the catalogue
