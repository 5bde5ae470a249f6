"""The recognition catalogue and the members' qualifications as spreadsheets (CSV, UTF-8 with a
BOM as Excel saves it), downloaded and replaced by the lead hospital's administrator: checked as
the alliance file is (the row and field named), nothing written when refused, what a new file
leaves out removed, the FHIR CodeSystem republished, every replacement audited."""

from __future__ import annotations

import csv
import io

import httpx

from tests.integration.admin.conftest import Admin
from tests.integration.fhir.test_rest import call
from tests.servers import drain_outbox

BASE = "/recognition/jhzx-ylt"


def download(admin: Admin, name: str, who: str | None = None) -> httpx.Response:
    return admin.call("GET", f"{BASE}/{name}.csv", who=who)


def rows(answer: httpx.Response) -> list[dict[str, str]]:
    assert answer.status_code == 200, answer.text
    assert answer.content.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))


def upload(admin: Admin, name: str, table: list[dict[str, str]], who: str | None = None):
    out = io.StringIO()
    writer = csv.DictWriter(out, list(table[0]), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(table)
    headers = {"Authorization": f"Bearer {admin.gateway.token(who or admin.who)}",
               "Content-Type": "text/csv"}  # fmt: skip
    return httpx.put(f"{admin.gateway.url}/admin{BASE}/{name}.csv", headers=headers,
                     content=("\ufeff" + out.getvalue()).encode())  # fmt: skip


def published_window(admin: Admin, code: str) -> int | None:
    found = call(admin.gateway, "GET", "/CodeSystem/jhzx-ylt.recognition-items", "his-tx-wsy")
    concepts = {c["code"]: c for c in found.json()["concept"]}
    if code not in concepts:
        return None
    return next(p["valueInteger"] for p in concepts[code]["property"] if p["code"] == "window-days")


def test_the_catalogue_round_trips_and_a_new_file_replaces_it(admin: Admin):
    items = rows(download(admin, "items"))
    assert len(items) == 10
    head = next(r for r in items if r["code"] == "hr-ct-head")
    assert head == {"code": "hr-ct-head", "name": "头颅CT平扫",
                    "name_en": "CT head without contrast", "kind": "imaging", "group": "ct",
                    "window_days": "30", "scope": "alliance", "mark": "金HR", "price": "180.00",
                    "modality": "CT", "body_sites": "69536005|HEAD", "loinc": ""}  # fmt: skip
    assert upload(admin, "items", items).json() == {"section": "recognition_items", "rows": 10}
    assert rows(download(admin, "items")) == items  # unchanged by its own file

    changed = [{**r, "window_days": "14"} if r["code"] == "hr-ct-head" else r for r in items
               if r["code"] != "hr-ct-chest"]  # fmt: skip
    changed.append({**head, "code": "hr-mr-head", "name": "头颅MR平扫", "name_en": "",
                    "modality": "MR", "group": "mr", "price": "450.00"})  # fmt: skip
    replaced = upload(admin, "items", changed)
    assert replaced.status_code == 200, replaced.text
    now = {r["code"]: r for r in rows(download(admin, "items"))}
    assert set(now) == {r["code"] for r in changed}
    assert now["hr-ct-head"]["window_days"] == "14"
    drain_outbox(admin.gateway.node.platform)  # the worker's registry.changed handler
    assert published_window(admin, "hr-ct-head") == 14
    assert published_window(admin, "hr-ct-chest") is None
    assert published_window(admin, "hr-mr-head") == 30
    [record] = [r for r in admin.audit(user="admin") if r["action"] == "replace"][:1]
    assert record["entities"]["section"] == "recognition_items"
    assert record["entities"]["removed"] == 1


def test_a_bad_file_is_refused_by_row_and_changes_nothing(admin: Admin):
    before = download(admin, "items").content
    items = rows(download(admin, "items"))
    broken = [{**r, "window_days": "x"} if i == 1 else r for i, r in enumerate(items)]
    refused = upload(admin, "items", broken)
    assert refused.status_code == 422
    assert f"row 3 (code {items[1]['code']}): field 'window_days'" in refused.text
    without_us = [r for r in items if r["group"] != "us"]  # jhzx is qualified for 'us'
    refused = upload(admin, "items", without_us)
    assert refused.status_code == 422
    assert "field 'group': no recognition item is of group 'us'" in refused.text
    headerless = upload(admin, "items", [{"code": "x"}])
    assert headerless.status_code == 422
    assert "missing: name" in headerless.text
    assert download(admin, "items").content == before


def test_qualifications_are_replaced_by_the_lead_only(admin: Admin):
    table = rows(download(admin, "qualifications"))
    lapsed = next(r for r in table if r["organization"] == "wcdy")
    assert lapsed["valid_until"] == "2025-12-31"
    renewed = [{**r, "valid_from": "2026-06-01", "valid_until": "2027-05-31",
                "programme": "金华市医学影像质控中心 CT 质控（复评）"} if r is lapsed else r
               for r in table]  # fmt: skip
    assert upload(admin, "qualifications", renewed).status_code == 200
    now = rows(download(admin, "qualifications"))
    assert [r["valid_until"] for r in now if r["organization"] == "wcdy"] == ["2027-05-31"]
    assert download(admin, "qualifications", who="lihua").status_code == 403  # a head, not admin
    assert upload(admin, "qualifications", now, who="wangjianguo").status_code == 403
    assert admin.call("GET", "/recognition/nowhere/items.csv").status_code == 403
