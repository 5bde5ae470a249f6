"""CDS Hooks 2.0 for mutual recognition (区域互认), requests shaped like the specification's
examples: discovery lists the order-select and order-sign services; a call with the draft orders
gets one card per recognisable prior (the suggestion drops the draft, the policy's repeat
reasons are the override reasons, a link opens the prior in the web app); the feedback —
accepted, overridden with a reason — is recorded as the doctor's decision; feedback on another
client's card or without an outcome is refused."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from gateway.workflow.recognition_decisions import REASONS
from storage.db import transaction
from storage.models import RecognitionDecision
from tests.integration.dicomweb.conftest import Gateway, start_gateway
from tests.integration.fhir.recognition_setup import (
    CHEST,
    HEAD,
    OTHER_CLINIC,
    ct,
    ct_report,
    number,
)
from tests.integration.fhir.referral_setup import CLINIC, LEAD, patient
from tests.integration.fhir.test_rest import call


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, demo_sqlite: Path) -> Iterator[Gateway]:
    with start_gateway(tmp_path_factory.mktemp("cds-hooks"), demo_sqlite) as running:
        yield running


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
    # 调阅报告: the web app's page of that prior, at the gateway's address.
    page = f"{gateway.url}/app/results/DiagnosticReport/{head['id']}"
    assert card["links"] == [{"label": "调阅报告", "url": page, "type": "absolute"}]
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
