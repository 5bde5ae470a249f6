"""Mutual recognition at order time (区域互认), over the demo alliance: a head CT done at the
lead hospital (qualified for CT) is offered when 汤溪卫生院 orders a head CT for the same person
(its own record, the same 身份证号) inside the item's window — and not after it, not when the
institution's qualification had lapsed, not while the report is preliminary, not for another
person, not for another item; a potassium result the same way inside its 7 days.  The doctor
recognises one (the order is revoked) and repeats another with a reason; both are recorded as
DetectedIssues, and the alliance's indicators count exactly those.  A forbidden decision gets
its 4xx and changes nothing.  A released report of a qualified centre carries the mark.  The
prior offered opens with its images (DICOMweb), for the clinic offered it and nobody else, and
stays open in its later versions."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from gateway.fhir.storing import store
from gateway.workflow.recognition import marked
from storage.clinical.recognition_marks import BEIJING, MARK_EXTENSION, MARK_TAG
from storage.db import transaction
from storage.identity_numbers import HEALTH_CARD
from storage.models import AuditRecord, FhirResource, RecognitionDecision
from tests.integration.dicomweb.conftest import Gateway, start_gateway
from tests.integration.fhir.recognition_setup import (
    CHEST,
    HEAD,
    OTHER_CLINIC,
    ago,
    ct,
    ct_images,
    ct_report,
    decide,
    local,
    number,
    offered,
    potassium,
    priors,
)
from tests.integration.fhir.referral_setup import CLINIC, LEAD, created, kept, patient
from tests.integration.fhir.test_rest import call
from tests.servers import drain_outbox

_cards = itertools.count(1)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, demo_sqlite: Path) -> Iterator[Gateway]:
    with start_gateway(tmp_path_factory.mktemp("recognition"), demo_sqlite) as running:
        yield running


def test_a_head_ct_of_the_lead_hospital_is_offered_to_the_clinic_and_opens(
    gateway: Gateway, tmp_path: Path
):
    id_number = number()
    at_lead = patient(gateway, LEAD, id_number)
    study = ct_images(gateway, tmp_path)
    report = ct_report(gateway, "jhzx", at_lead, days=10, study=study)
    at_clinic = patient(gateway, CLINIC, id_number)  # another record number, the same person

    def images(who: str) -> tuple[int, int]:
        """What a DICOMweb viewer asks first: QIDO-RS for the study, then its metadata."""
        found = gateway.get(f"/studies?StudyInstanceUID={study}", who)
        return found.status_code, gateway.get(f"/studies/{study}/metadata", who).status_code

    assert call(gateway, "GET", f"/DiagnosticReport/{report['id']}").status_code == 404
    assert images(CLINIC) == (204, 404)

    answer = offered(gateway, ct(at_clinic, HEAD, "头颅CT平扫"))
    [prior] = priors(answer)
    assert prior["item"]["code"] == "hr-ct-head"
    assert prior["item"]["system"] == (
        "http://yilian.example/fhir/CodeSystem/jhzx-ylt.recognition-items"
    )
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
    # ... and its images (查看影像), which no other member sees.
    assert call(gateway, "GET", f"/ImagingStudy/{study}").status_code == 200
    assert images(CLINIC) == (200, 200)
    [found] = gateway.get(f"/studies?StudyInstanceUID={study}", CLINIC).json()
    assert found["0020000D"]["Value"] == [study]
    assert images(OTHER_CLINIC) == (204, 404)
    # Later versions — the RIS corrects the report, the study is published again — stay open.
    with transaction(gateway.node.platform.sessions) as session:
        store(session, {**report, "conclusion": "颅脑CT平扫未见明显异常（已更正）。"}, "jhzx")
        imaging = session.get(FhirResource, ("ImagingStudy", study))
        store(session, {**imaging.content, "description": "头颅CT平扫（补传）"}, "jhzx")
    corrected = call(gateway, "GET", f"/DiagnosticReport/{report['id']}")
    assert corrected.json()["conclusion"] == "颅脑CT平扫未见明显异常（已更正）。"
    assert call(gateway, "GET", f"/ImagingStudy/{study}").json()["meta"]["versionId"] == "2"
    assert images(CLINIC) == (200, 200)
    assert images(OTHER_CLINIC) == (204, 404)
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


def test_a_released_report_of_a_qualified_centre_carries_the_mark(gateway: Gateway):
    """What verification stamps on a report (the PDF prints the extension in its box): the
    item is what its order asked (the body site), else what its images are."""
    subject = {"id": "x"}
    orders = {name: kept(gateway, "jhzx", ct(subject, site, name)) for name, site in
              (("head", HEAD), ("chest", CHEST), ("other", "12738006"))}  # fmt: skip

    now = ago(0)  # one instant: the expected copies are built again below

    def report(order: str) -> dict[str, Any]:
        return {"resourceType": "DiagnosticReport", "status": "final", "effectiveDateTime": now,
                "meta": {"profile": ["p"]},
                "basedOn": [{"reference": f"ServiceRequest/{orders[order]['id']}"}]}  # fmt: skip

    with transaction(gateway.node.platform.sessions) as session:
        lead = marked(session, report("head"), "jhzx")
        lapsed = marked(session, report("head"), "wcdy")
        chest = marked(session, report("chest"), "jhzx")
        unknown = marked(session, report("other"), "jhzx")
    assert lead["extension"] == [{"url": MARK_EXTENSION, "valueString": "金HR"}]
    assert lead["meta"] == {"profile": ["p"], "tag": [
        {"system": MARK_TAG, "code": "金HR", "display": "头颅CT平扫（金HR）"}]}  # fmt: skip
    assert chest["meta"]["tag"][0]["display"] == "胸部CT平扫（金HR）"
    assert lapsed == report("head")  # its CT qualification lapsed: no mark
    assert unknown == report("other")  # not an item of the catalogue


def test_the_indicators_count_the_decisions(gateway: Gateway):
    """汤溪卫生院's decisions this month (the test above), as the lead hospital reads its
    members': one recognised head CT (180 元), one chest CT repeated because the condition
    changed."""
    today = datetime.now(BEIJING).date()
    month = f"periodStart={today:%Y-%m}-01&periodEnd={today:%Y-%m-%d}"
    answer = call(gateway, "GET", f"/Measure/$evaluate-measure?{month}&measure=recognition-rate,"
                  "recognition-repeats,recognition-savings", LEAD)  # fmt: skip
    assert answer.status_code == 200, answer.text
    reports = {e["resource"]["measure"].rsplit("/", 1)[1]: e["resource"]["group"][0]
               for e in answer.json()["entry"]}  # fmt: skip

    def counted(group: dict) -> dict[str, int]:
        return {p["code"]["coding"][0]["code"]: p["count"] for p in group["population"]}

    rate = reports["recognition-rate"]
    assert counted(rate) == {"numerator": 1, "denominator": 2}
    assert rate["measureScore"]["value"] == 0.5
    [member] = rate["stratifier"][0]["stratum"]
    assert member["value"] == {"coding": [{"code": "Organization/tx-wsy"}],
                               "text": "婺城区汤溪镇中心卫生院"}  # fmt: skip
    repeats = reports["recognition-repeats"]
    assert counted(repeats) == {"initial-population": 1}
    [reason] = repeats["stratifier"][0]["stratum"]
    assert reason["value"] == {"coding": [{"code": "RepeatReason/condition-changed"}],
                               "text": "病情变化"}  # fmt: skip
    saved = reports["recognition-savings"]
    assert saved["measureScore"] == {"value": 180.0, "unit": "元",
                                     "system": "urn:iso:std:iso:4217", "code": "CNY"}  # fmt: skip
    csv = call(gateway, "GET", f"/Measure/$evaluate-measure?{month}&measure=recognition-savings"
               "&_format=csv", LEAD)  # fmt: skip
    assert "recognition-savings,互认节省费用,,合计 total,,,1,180,CNY" in csv.text


def test_the_catalogue_is_a_code_system_every_member_reads(gateway: Gateway):
    found = call(gateway, "GET", "/CodeSystem?url=http://yilian.example/fhir/CodeSystem/"
                 "jhzx-ylt.recognition-items", OTHER_CLINIC).json()  # fmt: skip
    [entry] = found["entry"]
    catalogue = entry["resource"]
    assert catalogue["title"] == "金华市中心医院医联体 检查检验结果互认项目目录"
    concepts = {c["code"]: c for c in catalogue["concept"]}
    assert len(concepts) == catalogue["count"] == 10
    head = {(p["code"], str(next(v for k, v in p.items() if k.startswith("value"))))
            for p in concepts["hr-ct-head"]["property"]}  # fmt: skip
    assert {
        ("window-days", "30"),
        ("mark", "金HR"),
        ("price", "180.0"),
        ("group", "ct"),
        ("body-site", "{'system': 'http://snomed.info/sct', 'code': '69536005'}"),
    } <= head
    potassium_item = concepts["hr-k"]
    assert potassium_item["designation"] == [{"language": "en", "value": "Serum potassium"}]
    checked = call(gateway, "POST", "/CodeSystem/$validate", OTHER_CLINIC, body=catalogue)
    assert checked.status_code == 200, checked.text
    forged = call(gateway, "PUT", f"/CodeSystem/{catalogue['id']}", LEAD,
                  body={**catalogue, "count": 11})  # fmt: skip
    assert forged.status_code == 405, forged.text  # published by the server: read only


def test_a_person_the_patient_index_links_by_health_card_is_the_same_person(gateway: Gateway):
    """No 身份证号 on either record: the 居民健康卡号 links them (the worker's patient index)."""
    card = f"H3307{next(_cards):07d}"

    def carded(who: str) -> dict[str, Any]:
        return created(gateway, who, {
            "resourceType": "Patient",
            "identifier": [{"system": HEALTH_CARD, "value": card}],
            "name": [{"text": "李秀英"}], "gender": "female", "birthDate": "1958-03-09",
        })  # fmt: skip

    at_lead, at_clinic = carded(LEAD), carded(CLINIC)
    report = ct_report(gateway, "jhzx", at_lead, days=5)
    draft = ct(at_clinic, HEAD, "头颅CT平扫")
    assert priors(offered(gateway, draft)) == []  # not linked yet: nothing says it is them
    drain_outbox(gateway.node.platform)  # the worker's mpi.link
    [prior] = priors(offered(gateway, draft))
    assert prior["result"]["reference"] == f"DiagnosticReport/{report['id']}"
