"""One remote-service catalogue with fees, a charge per completed service, the monthly
settlement between members: 汤溪卫生院's head CT read and signed by the lead hospital's imaging
centre becomes one ChargeItem at the catalogue's CT fee, on both members' statement for the
month (JSON and CSV for Excel); an amendment does not charge again, a cancelled order is not
charged, nobody but the server writes charges or the catalogue, and another clinic sees none
of it.  One gateway for the module (each reading takes a few seconds to set up)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from storage.registry import import_alliance_file
from tests.conftest import DEMO_ALLIANCE
from tests.integration.dicomweb.conftest import Gateway, start_gateway
from tests.integration.fhir.test_reading import REPORT, parameters, read, ready_task, step
from tests.integration.fhir.test_rest import call
from tests.servers import drain_outbox

CT = "http://yilian.example/fhir/ChargeItemDefinition/jhzx-ylt.yx-ct"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, demo_sqlite: Path) -> Iterator[Gateway]:
    with start_gateway(tmp_path_factory.mktemp("charges"), demo_sqlite) as running:
        yield running


def charges_of(gateway: Gateway, task: dict, who: str = "his-tx-wsy") -> list[dict]:
    found = call(gateway, "GET", f"/ChargeItem?subject={task['for']['reference']}", who)
    assert found.status_code == 200, found.text
    return [e["resource"] for e in found.json().get("entry", [])]


def settlement(gateway: Gateway, month: str, who: str, **headers: str):
    return call(gateway, "GET", f"/ChargeItem/$settlement?month={month}", who, **headers)


def sign_off(gateway: Gateway, tmp_path: Path) -> tuple[dict, dict]:
    """A reading of 汤溪卫生院's head CT verified, its charge made: the Task and the ChargeItem
    the clinic finds for its patient."""
    task = ready_task(gateway, tmp_path)
    for who, code, values in (("wanglei", "claim", {}), ("wanglei", "submit", {"report": REPORT}),
                              ("zhaomin", "verify", {})):  # fmt: skip
        assert step(gateway, task, code, who, **values).status_code == 200
    drain_outbox(gateway.node.platform)
    [charge] = charges_of(gateway, task)
    return task, charge


def test_a_completed_reading_is_charged_once_at_the_catalogues_fee_and_settled(
    gateway: Gateway, tmp_path: Path
):
    task, charge = sign_off(gateway, tmp_path)  # the requesting clinic sees its charge
    report_ref = read(gateway, f"Task/{task['id']}")["output"][0]["valueReference"]["reference"]
    assert charge["status"] == "billable"
    assert charge["definitionCanonical"] == [CT]
    assert charge["code"]["coding"][0]["code"] == "yx-ct"
    assert charge["priceOverride"] == {"value": 60.0, "currency": "CNY"}
    assert charge["requestingOrganization"] == {"reference": "Organization/tx-wsy"}
    assert charge["performingOrganization"] == {"reference": "Organization/jhzx"}
    assert charge["subject"] == task["for"]
    assert charge["service"] == [{"reference": report_ref}]
    assert charge["supportingInformation"] == task["basedOn"]
    assert charges_of(gateway, task, "his-jhzx") == [charge]  # and the performing hospital
    assert charges_of(gateway, task, "his-cz-sq") == []  # another clinic does not
    assert call(gateway, "GET", f"/ChargeItem/{charge['id']}", "his-cz-sq").status_code == 404

    definition = call(gateway, "GET", f"/ChargeItemDefinition?url={CT}", "his-cz-sq").json()
    [fee] = definition["entry"][0]["resource"]["propertyGroup"][0]["priceComponent"]
    assert fee["amount"] == charge["priceOverride"]

    amended = call(gateway, "POST", f"/{report_ref}/$amend", "zhaomin",
                   body=parameters(report=REPORT | {"conclusion": "左侧基底节区腔隙性梗塞。"},
                                   reason="漏诊腔隙灶"))  # fmt: skip
    assert amended.status_code == 200, amended.text
    drain_outbox(gateway.node.platform)
    assert charges_of(gateway, task) == [charge]  # the amendment is not charged again

    occurred = datetime.fromisoformat(charge["occurrenceDateTime"].replace("Z", "+00:00"))
    month = occurred.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    by_month = call(
        gateway,
        "GET",
        f"/ChargeItem?occurrence={month}&requesting-organization=Organization/tx-wsy&code=yx-ct",
        "his-jhzx",
    ).json()  # as a HIS reconciles
    assert charge["id"] in [e["resource"]["id"] for e in by_month["entry"]]
    line = {"code": "yx-ct", "name": "远程影像诊断（CT）", "basis": "exam", "basisName": "每例",
            "count": 1, "unitFee": "60.00", "amount": "60.00"}  # fmt: skip
    for who in ("his-tx-wsy", "lihua"):  # the clinic's system, the lead hospital's head
        answer = settlement(gateway, month, who)
        assert answer.status_code == 200, answer.text
        [pair] = answer.json()["pairs"]
        assert pair["requesting"] == {"id": "tx-wsy", "name": "婺城区汤溪镇中心卫生院"}
        assert pair["performing"] == {"id": "jhzx", "name": "金华市中心医院"}
        assert (pair["lines"], pair["count"], pair["total"]) == ([line], 1, "60.00")
        assert answer.json()["total"] == "60.00"

    as_csv = settlement(gateway, month, "his-tx-wsy", Accept="text/csv")
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert as_csv.content.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel reads the Chinese
    rows = list(csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert rows[1] == [month, "婺城区汤溪镇中心卫生院", "金华市中心医院", "yx-ct",
                       "远程影像诊断（CT）", "每例", "1", "60.00", "60.00"]  # fmt: skip
    assert rows[-1][-1] == "60.00"

    elsewhere = settlement(gateway, month, "his-cz-sq").json()  # another clinic: nothing
    assert (elsewhere["pairs"], elsewhere["total"]) == ([], "0.00")
    assert settlement(gateway, month, "wanglei").status_code == 403  # a reader: not theirs
    for wrong in ("2026-13", "0000-01", "2026-1"):
        assert settlement(gateway, wrong, "his-tx-wsy").status_code == 400, wrong


def test_a_cancelled_order_is_not_charged(gateway: Gateway, tmp_path: Path):
    task = ready_task(gateway, tmp_path)
    assert step(gateway, task, "claim", "wanglei").status_code == 200
    assert step(gateway, task, "submit", "wanglei", report=REPORT).status_code == 200
    order_ref = task["basedOn"][0]["reference"]
    order = {k: v for k, v in read(gateway, order_ref).items() if k != "meta"}
    revoked = call(gateway, "PUT", f"/{order_ref}", body=order | {"status": "revoked"})
    assert revoked.is_success, revoked.text
    drain_outbox(gateway.node.platform)
    assert read(gateway, f"Task/{task['id']}")["status"] == "cancelled"
    assert step(gateway, task, "verify", "zhaomin").status_code == 409
    drain_outbox(gateway.node.platform)
    assert charges_of(gateway, task, "his-jhzx") == []


def test_only_the_server_writes_charges_and_the_catalogue(gateway: Gateway):
    forged = {"resourceType": "ChargeItem", "status": "billable", "code": {"text": "远程会诊"},
              "subject": {"reference": "Patient/x"}}  # fmt: skip
    refused = call(gateway, "POST", "/ChargeItem", "his-jhzx", body=forged)
    assert refused.status_code == 405
    assert refused.json()["resourceType"] == "OperationOutcome"
    assert "recorded by the server" in refused.json()["issue"][0]["diagnostics"]
    catalogue = call(gateway, "GET", "/ChargeItemDefinition?_count=50", "his-fc-wsy").json()
    services = {e["resource"]["code"]["coding"][0]["code"]: e["resource"] for e in
                catalogue["entry"]}  # fmt: skip
    assert {"yx-ct", "yx-mr", "yx-dr", "xd", "bl", "jy-dj", "hz"} <= set(services)
    ct = services["yx-ct"] | {"title": "远程影像诊断（CT）（降价）"}
    rewritten = call(gateway, "PUT", f"/ChargeItemDefinition/{ct['id']}", "his-jhzx", body=ct)
    assert rewritten.status_code == 405
    assert "alliance file" in rewritten.json()["issue"][0]["diagnostics"]


def test_a_new_fee_applies_to_new_work_and_past_charges_keep_theirs(
    gateway: Gateway, tmp_path: Path
):
    _, before = sign_off(gateway, tmp_path / "before")
    changed = tmp_path / "alliance.yaml"
    text = DEMO_ALLIANCE.read_text(encoding="utf-8")
    changed.write_text(text.replace('fee: "60.00"', 'fee: "65.50"', 1), encoding="utf-8")
    assert import_alliance_file(gateway.node.platform.sessions, changed).updated["services"] == 1
    drain_outbox(gateway.node.platform)  # registry.changed: the catalogue is published again

    definition = call(gateway, "GET", f"/ChargeItemDefinition?url={CT}", "his-tx-wsy").json()
    [fee] = definition["entry"][0]["resource"]["propertyGroup"][0]["priceComponent"]
    assert fee["amount"] == {"value": 65.5, "currency": "CNY"}
    _, after = sign_off(gateway, tmp_path / "after")
    assert after["priceOverride"] == {"value": 65.5, "currency": "CNY"}
    assert read(gateway, f"ChargeItem/{before['id']}")["priceOverride"]["value"] == 60.0

    occurred = datetime.fromisoformat(after["occurrenceDateTime"].replace("Z", "+00:00"))
    month = occurred.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    [pair] = settlement(gateway, month, "his-tx-wsy").json()["pairs"]
    fees = {line["unitFee"]: line for line in pair["lines"]}
    assert (fees["65.50"]["count"], fees["65.50"]["amount"]) == (1, "65.50")
    assert fees["60.00"]["code"] == "yx-ct"  # the month's earlier CT readings, at their fee
