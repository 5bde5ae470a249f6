"""The registry written through the admin API: checked as the alliance file is (the same
messages), refused for anyone but an administrator, nothing half-written, every change audited,
and in effect without a restart (the DICOM node accepts a newly registered AE title)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from storage.errors import ConfigError
from storage.registry import parse_alliance_file
from storage.registry.values import uscc_check_char
from tests.conftest import DEMO_ALLIANCE
from tests.integration.admin.conftest import Admin

PASSWORD = "Demo@2026"


def file_check_problems(tmp_path: Path, section: str, entry: dict[str, Any]) -> list[str]:
    """What the alliance file check says of the demo file with ``entry`` added to ``section``
    (each problem without the file name it starts with)."""
    document = yaml.safe_load(DEMO_ALLIANCE.read_text(encoding="utf-8"))
    document[section] = [*document.get(section, []), entry]
    path = tmp_path / "yilian.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        parse_alliance_file(path)
    return [line.removeprefix(f"{path}: ") for line in str(refused.value).splitlines()]


def echo(admin: Admin, calling: str) -> bool:
    """C-ECHO from ``calling`` with DCMTK's echoscu: accepted?"""
    return admin.gateway.node.dcmtk("echoscu", calling=calling, timeout=30).returncode == 0


def token_for_client(admin: Admin, client_id: str, secret: str) -> int:
    answer = httpx.post(
        f"{admin.gateway.url}/auth/token",
        data={"grant_type": "client_credentials", "scope": "system/Observation.rs"},
        auth=(client_id, secret),
    )
    return answer.status_code


def password_login(admin: Admin, username: str, password: str) -> httpx.Response:
    data = {"grant_type": "password", "username": username, "password": password}
    return httpx.post(f"{admin.gateway.url}/auth/token", data=data)


def latest_admin_record(admin: Admin, key: str) -> dict[str, Any]:
    records = [r for r in admin.audit(user="admin") if r["entities"].get("key") == key]
    assert records, f"no audit record of {key}"
    return records[0]


def test_an_added_ae_title_is_accepted_by_the_node_without_a_restart(admin: Admin):
    assert not echo(admin, "TX_US1")
    added = admin.call(
        "POST",
        "/registry/ae_titles",
        {"ae_title": "TX_US1", "organization": "tx-wsy", "kind": "modality",
         "description": "汤溪卫生院 超声"},
    )  # fmt: skip
    assert added.status_code == 201, added.text
    assert added.json()["entry"]["organization"] == "tx-wsy"
    deadline = time.monotonic() + 15
    while not echo(admin, "TX_US1"):
        assert time.monotonic() < deadline, "the node still rejects the new AE title"
        time.sleep(1)
    record = latest_admin_record(admin, "TX_US1")
    assert (record["action"], record["channel"], record["organization"]) == (
        "create", "admin", "jhzx",
    )  # fmt: skip
    assert record["entities"]["section"] == "ae_titles"

    assert admin.call("DELETE", "/registry/ae_titles/TX_US1").status_code == 204
    assert latest_admin_record(admin, "TX_US1")["action"] == "delete"
    deadline = time.monotonic() + 15
    while echo(admin, "TX_US1"):
        assert time.monotonic() < deadline, "the node still accepts a removed AE title"
        time.sleep(1)


@pytest.mark.parametrize(
    ("section", "entry"),
    [
        ("ae_titles", {"ae_title": "TX_CT1", "organization": "blq-wsy", "kind": "modality"}),
        ("ae_titles", {"ae_title": "THIS_TITLE_IS_TOO_LONG", "organization": "tx-wsy",
                       "kind": "modality"}),
        ("ae_titles", {"ae_title": "NOWHERE_CT", "organization": "nowhere", "kind": "modality",
                       "host": "10.0.0.9"}),
        ("mllp_peers", {"id": "tx-lis", "organization": "tx-wsy", "sending_application": "",
                        "sending_facility": "TX"}),
        ("users", {"username": "newbie", "name": "新人", "organization": "tx-wsy",
                   "roles": ["surgeon"], "password": "short"}),
        ("api_clients", {"client_id": "his-jhzx", "name": "重复", "organization": "jhzx",
                         "scopes": ["system/Patient.rs"], "secret": "a-long-enough-secret"}),
    ],
    ids=["duplicate-ae", "long-ae", "unknown-org", "empty-msh3", "bad-user", "duplicate-client"],
)  # fmt: skip
def test_an_invalid_entry_is_refused_with_the_alliance_files_message(
    admin: Admin, tmp_path: Path, section: str, entry: dict[str, Any]
):
    before = admin.registry()
    refused = admin.call("POST", f"/registry/{section}", entry)
    assert refused.status_code == 422, refused.text
    assert refused.json()["problems"] == file_check_problems(tmp_path, section, entry)
    assert admin.registry() == before


def test_a_centre_may_serve_only_members_of_its_alliance(admin: Admin, tmp_path: Path):
    [pathology] = [c for c in admin.registry()["centres"] if c["id"] == "jhzx-pathology"]
    assert pathology["serves"] == ["wcdy", "wcrm"]
    wrong = {**pathology, "serves": ["wcrm", "elsewhere"]}
    refused = admin.call("PUT", "/registry/centres/jhzx-pathology", wrong)
    assert refused.status_code == 422
    assert refused.json()["problems"] == [
        "centres[3] (id jhzx-pathology): field 'serves': 'elsewhere' is not a member of 'jhzx-ylt'"
    ]
    wider = {**pathology, "serves": ["wcrm", "wcdy", "tx-wsy"]}
    assert admin.call("PUT", "/registry/centres/jhzx-pathology", wider).status_code == 200
    [changed] = [c for c in admin.registry()["centres"] if c["id"] == "jhzx-pathology"]
    assert changed["serves"] == ["tx-wsy", "wcdy", "wcrm"]
    record = latest_admin_record(admin, "jhzx-pathology")
    assert (record["action"], record["entities"]["fields"]) == ("update", ["serves"])


def test_a_new_member_joins_the_alliance_or_nothing_is_written(admin: Admin):
    first17 = "12330702470199900"
    member = {"id": "ls-wsy", "name": "婺城区罗店镇卫生院", "kind": "乡镇卫生院",
              "national_id": first17 + uscc_check_char(first17),
              "alliance": "jhzx-ylt"}  # fmt: skip
    taken = {**member, "national_id": "12330702470148900L"}  # 汤溪卫生院's
    refused = admin.call("POST", "/registry/organizations", taken)
    assert refused.status_code == 422
    assert any("field 'national_id': duplicate" in p for p in refused.json()["problems"])
    sections = admin.registry()
    assert "ls-wsy" not in {o["id"] for o in sections["organizations"]}
    [alliance] = sections["alliances"]
    assert "ls-wsy" not in alliance["members"]

    assert admin.call("POST", "/registry/organizations", member).status_code == 201
    [alliance] = admin.registry()["alliances"]
    assert "ls-wsy" in alliance["members"]


def test_only_an_administrator_may_change_the_registry(admin: Admin):
    entry = {"ae_title": "TX_MR1", "organization": "tx-wsy", "kind": "modality"}
    for who in ("sunli", "lihua", "his-jhzx"):
        assert admin.call("POST", "/registry/ae_titles", entry, who=who).status_code == 403
        assert admin.call("GET", "/registry", who=who).status_code == 403
        assert admin.call("GET", "/audit-records", who=who).status_code == 403
        assert admin.call("GET", "/dead-events", who=who).status_code == 403
    assert "TX_MR1" not in {a["ae_title"] for a in admin.registry()["ae_titles"]}


def test_an_organizations_administrator_manages_only_its_own(admin: Admin):
    person = {"username": "tx-admin", "name": "汤溪管理员", "organization": "tx-wsy",
              "roles": ["admin"], "password": PASSWORD}  # fmt: skip
    assert admin.call("POST", "/registry/users", person).status_code == 201
    own = {"ae_title": "TX_DR2", "organization": "tx-wsy", "kind": "modality"}
    other = {"ae_title": "BLQ_DR2", "organization": "blq-wsy", "kind": "modality"}
    assert admin.call("POST", "/registry/ae_titles", other, who="tx-admin").status_code == 403
    assert admin.call("POST", "/registry/ae_titles", own, who="tx-admin").status_code == 201
    shown = admin.call("GET", "/registry", who="tx-admin").json()["sections"]
    assert {a["organization"] for a in shown["ae_titles"]} == {"tx-wsy"}
    assert admin.call("GET", "/dead-events", who="tx-admin").status_code == 403


def test_an_api_clients_secret_is_shown_once_and_rotated(admin: Admin):
    client = {"client_id": "lis-tx", "name": "汤溪卫生院 LIS", "organization": "tx-wsy",
              "scopes": ["system/Observation.rs"]}  # fmt: skip
    created = admin.call("POST", "/registry/api_clients", client)
    assert created.status_code == 201, created.text
    secret = created.json()["secret"]
    assert len(secret) >= 32
    [listed] = [c for c in admin.registry()["api_clients"] if c["client_id"] == "lis-tx"]
    assert listed["hasSecret"] is True
    assert secret not in str(listed)
    assert "secret_hash" not in listed
    assert token_for_client(admin, "lis-tx", secret) == 200

    rotated = admin.call("POST", "/registry/api_clients/lis-tx/$rotate-secret")
    assert rotated.status_code == 200
    new_secret = rotated.json()["secret"]
    assert new_secret != secret
    assert token_for_client(admin, "lis-tx", secret) == 401
    assert token_for_client(admin, "lis-tx", new_secret) == 200
    record = latest_admin_record(admin, "lis-tx")
    assert (record["action"], record["entities"]["fields"]) == ("update", ["secret"])
    assert new_secret not in str(admin.audit(user="admin"))
    missing = admin.call("POST", "/registry/api_clients/nobody/$rotate-secret")
    assert missing.status_code == 404


def test_a_user_gets_roles_and_keeps_the_password_when_changed(admin: Admin):
    person = {"username": "qianyu", "name": "钱宇", "organization": "tx-wsy",
              "roles": ["clinician"], "password": "Qian@2026x"}  # fmt: skip
    assert admin.call("POST", "/registry/users", person).status_code == 201
    assert password_login(admin, "qianyu", "Qian@2026x").status_code == 200
    changed = {k: v for k, v in person.items() if k != "password"} | {
        "roles": ["clinician", "head"]
    }
    assert admin.call("PUT", "/registry/users/qianyu", changed).status_code == 200
    [listed] = [u for u in admin.registry()["users"] if u["username"] == "qianyu"]
    assert listed["roles"] == ["clinician", "head"]
    assert password_login(admin, "qianyu", "Qian@2026x").status_code == 200
    assert admin.call("DELETE", "/registry/users/qianyu").status_code == 204
    assert password_login(admin, "qianyu", "Qian@2026x").status_code in (400, 401)
    assert admin.call("DELETE", "/registry/centres/jhzx-imaging").status_code == 405
    assert admin.call("DELETE", "/registry/users/admin").status_code == 409
    assert admin.call("PUT", "/registry/users/nobody", changed).status_code == 404


def test_an_mllp_peer_is_registered(admin: Admin):
    peer = {"id": "tx-lis", "organization": "tx-wsy", "sending_application": "TXLIS",
            "sending_facility": "TXWSY", "encoding": "gb18030"}  # fmt: skip
    assert admin.call("POST", "/registry/mllp_peers", peer).status_code == 201
    [listed] = [p for p in admin.registry()["mllp_peers"] if p["id"] == "tx-lis"]
    assert (listed["sending_application"], listed["encoding"]) == ("TXLIS", "gb18030")
    again = admin.call("POST", "/registry/mllp_peers", {**peer, "id": "tx-lis-2"})
    assert again.status_code == 422
    assert again.json()["problems"][0].endswith("field 'sending_application': duplicate")
