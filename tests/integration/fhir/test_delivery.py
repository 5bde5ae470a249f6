"""Delivery of a signed report: the clinic's rest-hook Subscription is told and the clinic
fetches the report with its PDF; the patient's link (云胶片) opens without an account — page,
PDF and key images — every opening audited, and stops working when revoked or expired."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import func, select, update

from storage.clinical import reading_milestones
from storage.db import transaction
from storage.models import AuditRecord, PatientLink
from tests.integration.dicomweb.conftest import Gateway
from tests.integration.fhir.test_orders_in import CLINIC
from tests.integration.fhir.test_reading import REPORT, parameters, pdf_text, step
from tests.integration.fhir.test_rest import call
from tests.integration.fhir.test_subscriptions import Receiver, subscribe
from tests.servers import drain_outbox


def signed(gateway: Gateway, task: dict) -> str:
    for code, who in (("claim", "wanglei"), ("submit", "wanglei"), ("verify", "zhaomin")):
        given = {"report": REPORT} if code == "submit" else {}
        assert step(gateway, task, code, who, **given).status_code == 200
    current = call(gateway, "GET", f"/Task/{task['id']}", CLINIC).json()
    return current["output"][0]["valueReference"]["reference"]


def test_the_clinic_is_told_and_fetches_report_and_pdf(
    gateway: Gateway, task: dict, receiver: Receiver, tmp_path: Path
):
    subscribe(gateway, CLINIC, f"http://127.0.0.1:{receiver.server_port}/his/reports")
    report_ref = signed(gateway, task)
    drain_outbox(gateway.node.platform)
    finals = [r for r in receiver.received if json.loads(r[2])["status"] == "final"]
    [(path, _, body)] = finals
    assert path == "/his/reports"
    assert f"DiagnosticReport/{json.loads(body)['id']}" == report_ref
    fetched = call(gateway, "GET", f"/{report_ref}", CLINIC).json()
    text, _ = pdf_text(fetched["presentedForm"][0], tmp_path)
    assert "审核医师：赵敏" in text
    with transaction(gateway.node.platform.sessions) as session:
        row = reading_milestones.milestones(session, task["id"])
        assert row is not None
        assert row.delivered_at is not None
        assert row.verified_at is not None
        assert row.delivered_at >= row.verified_at


def share(gateway: Gateway, report_ref: str, who: str = CLINIC, **given: object):
    return call(gateway, "POST", f"/{report_ref}/$share", who, body=parameters(**given))


def test_the_patients_link_opens_without_an_account_until_revoked(gateway: Gateway, task: dict):
    report_ref = signed(gateway, task)
    assert share(gateway, report_ref, "his-cz-sq").status_code == 404  # another clinic
    given = share(gateway, report_ref)
    assert given.status_code == 200, given.text
    answer = {p["name"]: p for p in given.json()["parameter"]}
    url = answer["url"]["valueUrl"]
    assert base64.b64decode(answer["qr"]["valueAttachment"]["data"]).startswith(b"<?xml")

    page = httpx.get(url)  # no token, no account
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    for expected in ("张三丰", "头颅CT平扫未见明显异常", "赵敏", "金华市中心医院"):
        assert expected in page.text
    assert "330702198001011234" not in page.text
    image = httpx.get(f"{url}/images/0")
    assert (image.status_code, image.content[:2]) == (200, b"\xff\xd8")  # a rendered JPEG
    pdf = httpx.get(f"{url}/report.pdf")
    assert (pdf.status_code, pdf.content[:5]) == (200, b"%PDF-")
    with transaction(gateway.node.platform.sessions) as session:
        opened = session.scalar(select(func.count()).select_from(AuditRecord)
                                .where(AuditRecord.channel == "patient-link"))  # fmt: skip
    assert opened == 3

    link = answer["link"]["valueString"]
    revoked = call(gateway, "POST", f"/{report_ref}/$unshare", CLINIC, body=parameters(link=link))
    assert revoked.status_code == 200, revoked.text
    gone = httpx.get(url)
    assert gone.status_code == 410
    assert "已被撤销" in gone.text
    assert httpx.get(f"{url}/report.pdf").status_code == 410
    assert httpx.get(url.rsplit("/", 1)[0] + "/not-a-token").status_code == 404


def test_an_expired_link_stops_working_and_an_unsigned_report_is_not_shared(
    gateway: Gateway, task: dict
):
    assert step(gateway, task, "claim", "wanglei").status_code == 200
    assert step(gateway, task, "submit", "wanglei", report=REPORT).status_code == 200
    current = call(gateway, "GET", f"/Task/{task['id']}", CLINIC).json()
    draft = current["output"][0]["valueReference"]["reference"]
    assert share(gateway, draft).status_code == 409  # not signed yet
    assert step(gateway, task, "verify", "zhaomin").status_code == 200
    assert share(gateway, draft, days=0).status_code == 400
    url = {p["name"]: p for p in share(gateway, draft, days=1).json()["parameter"]}["url"]
    with transaction(gateway.node.platform.sessions) as session:
        session.execute(update(PatientLink).values(expires_at=datetime.now(UTC)))
    gone = httpx.get(url["valueUrl"])
    assert gone.status_code == 410
    assert "已过期" in gone.text
