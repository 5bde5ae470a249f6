"""A broken alliance file is refused with a message naming the file, the entry and the field."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from storage import ConfigError, parse_alliance_file
from storage.registry.values import uscc_check_char
from tests.conftest import DEMO_ALLIANCE

YILIAN = str(Path(sys.executable).with_name("yilian"))


def broken(tmp_path: Path, old: str, new: str) -> Path:
    text = DEMO_ALLIANCE.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "broken.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            'kind: 乡镇卫生院, national_id: "12330702470147800P"',
            'kind: 诊所, national_id: "12330702470147800P"',
            "organizations[6] (id blq-wsy): field 'kind': '诊所' is not one of",
        ),
        (
            '"12330702470120100X"',
            '"12330702470120100Y"',
            "organizations[1] (id wcrm): field 'national_id': check character",
        ),
        (
            "{ae_title: TX_CT1, organization: tx-wsy",
            "{ae_title: TX_CT1, organization: tx",
            "ae_titles[7] (ae_title TX_CT1): field 'organization': unknown organization 'tx'",
        ),
        (
            "{ae_title: TX_CT1,",
            "{ae_title: TX_CT1_TOO_LONG_TITLE,",
            "ae_titles[7] (ae_title TX_CT1_TOO_LONG_TITLE): field 'ae_title': must be 1-16",
        ),
        (
            "host: 127.0.0.1, port: 11113}",
            "port: 11113}",
            "ae_titles[9] (ae_title JHZX_READ1): entry: host and port must be given together",
        ),
        (
            "{username: hejun, name: 何军, organization: sj-sq, roles: [clinician]",
            "{username: hejun, name: 何军, organization: sj-sq, roles: [nurse]",
            "users[12] (username hejun): field 'roles.0': 'nurse' is not one of",
        ),
        (
            "{username: admin, name: 系统管理员,",
            "{username: admin, nickname: x, name: 系统管理员,",
            "users[4] (username admin): field 'nickname': unknown field",
        ),
        (
            "secret: demo-secret-wcdy,",
            "",
            "api_clients[2] (client_id his-wcdy): entry: give exactly one of 'secret' or "
            "'secret_hash'",
        ),
        (
            "    serves: [wcrm, wcdy]",
            "    serves: [wcrm, somewhere]",
            "centres[3] (id jhzx-pathology): field 'serves': 'somewhere' is not a member",
        ),
        (
            "{ae_title: WCDY_DR1,",
            "{ae_title: WCRM_CT1,",
            "ae_titles[2] (ae_title WCRM_CT1): field 'ae_title': duplicate",
        ),
        (
            "dicom_routes: []",
            "dicom_routes: [{id: r1, destination: JHZX_CT1}]",
            "dicom_routes[0] (id r1): field 'destination': 'JHZX_CT1' has no host/port",
        ),
        (
            "dicom_routes: []",
            "dicom_routes: [{id: r1, destination: NOBODY}]",
            "dicom_routes[0] (id r1): field 'destination': unknown destination 'NOBODY'",
        ),
        (
            "dicom_routes: []",
            "dicom_routes: [{id: r1, destination: JHZX_PACS, modalities: [ct]}]",
            "dicom_routes[0] (id r1): field 'modalities.0': String should match pattern",
        ),
        (
            "unit: mmol/L, critical_low: 2.8, critical_high: 6.2}",
            "unit: mmol/L, critical_low: 7, critical_high: 6.2}",
            "lab_items[0] (code K): entry: critical_low must be below critical_high",
        ),
        (
            "port: 2576, order_message: OML^O21}",
            "port: 2576, order_message: ORU^R01}",
            "mllp_peers[0] (id jhzx-lis): field 'order_message': 'ORU^R01' is not one of",
        ),
        (
            "code: NA, name: 钠, loinc: 2951-2,",
            "code: NA, name: 钠, loinc: LN2951,",
            "lab_items[1] (code NA): field 'loinc': String should match pattern",
        ),
        (
            "{organization: jhzx, code: GLU,",
            "{organization: jh, code: GLU,",
            "lab_items[2] (code GLU): field 'organization': unknown organization 'jh'",
        ),
        (
            "{organization: jhzx, code: CA,",
            "{organization: jhzx, code: GLU,",
            "lab_items[3] (code jhzx^GLU): field 'code': duplicate",
        ),
        (
            "{code: yx-mr, alliance: jhzx-ylt,",
            "{code: yx-ct, alliance: jhzx-ylt,",
            "services[1] (code yx-ct): field 'code': duplicate in alliance 'jhzx-ylt'",
        ),
        (
            "kind: ecg, centre: jhzx-ecg,",
            "kind: ecg, centre: jhzx-imaging,",
            "services[4] (code xd): field 'centre': a ecg service is performed by a ecg centre, "
            "'jhzx-imaging' is imaging",
        ),
        (
            'fee: "25.00", basis: exam, match: {modalities: [DX, CR, DR]}',
            'fee: "25.00", basis: exam, match: {modalities: [DX, CT]}',
            "services[2] (code yx-dr): field 'match': the same work as services[0] (code yx-ct)",
        ),
        (
            'fee: "300.00"',
            'fee: "300.005"',
            "services[5] (code bl): field 'fee': Decimal input should have no more than 2 decimal",
        ),
        (
            "match: {lab_codes: [K, NA, CA]}",
            "match: {lab_codes: [K, NA, MG]}",
            "services[6] (code jy-dj): field 'match.lab_codes': 'MG' is not a lab item of 'jhzx'",
        ),
        (
            'mark: 浙HR, price: "4.00", match: {loinc: 2823-3}}',
            'mark: 浙HR, price: "4.00", match: {modality: CT}}',
            "recognition_items[5] (code hr-k): entry: a lab item matches by its loinc",
        ),
        (
            'price: "200.00", match: {modality: CT, body_sites: ["51185008", CHEST]}',
            'price: "200.00", match: {modality: CT, body_sites: ["69536005"]}',
            "recognition_items[1] (code hr-ct-chest): field 'match': the same examination as "
            "recognition_items[0] (code hr-ct-head) would match",
        ),
        (
            "valid_from: 2024-01-01, valid_until: 2025-12-31",
            "valid_from: 2026-01-01, valid_until: 2025-12-31",
            "qualifications[8]: entry: valid_until is before valid_from",
        ),
        (
            "{organization: wcrm, group: chemistry,",
            "{organization: wcrm, group: haematology,",
            "qualifications[7]: field 'group': no recognition item is of group 'haematology'",
        ),
        (
            "    # green_channel_minutes: 30",
            "    green_channel_minutes: 0",
            "alliances[0] (id jhzx-ylt): field 'green_channel_minutes': Input should be greater",
        ),
    ],
)
def test_broken_file_names_file_entry_and_field(tmp_path, old, new, expected):
    path = broken(tmp_path, old, new)
    with pytest.raises(ConfigError) as caught:
        parse_alliance_file(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert expected in message


def test_yaml_syntax_error_gives_line_and_column(tmp_path):
    path = broken(tmp_path, "members: [jhzx, wcrm,", "members: [jhzx, wcrm,,]]")
    with pytest.raises(ConfigError, match=r"broken.yaml: not valid YAML at line \d+, column \d+"):
        parse_alliance_file(path)


def test_missing_file_and_wrong_top_level(tmp_path):
    with pytest.raises(ConfigError, match=r"nope\.yaml: file not found"):
        parse_alliance_file(tmp_path / "nope.yaml")
    listing = tmp_path / "list.yaml"
    listing.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        parse_alliance_file(listing)


def test_chinese_labels_and_codes_are_both_accepted():
    parsed = parse_alliance_file(DEMO_ALLIANCE)
    kinds = {o.id: o.kind.value for o in parsed.organizations}
    assert kinds["jhzx"] == "lead_hospital"  # written as 牵头医院
    assert kinds["wcrm"] == "county_hospital"  # written as the code
    assert parsed.alliances[0].kind.label_zh == "城市医疗集团"


def test_uscc_check_character_matches_gb32100_example():
    # The example of GB 32100-2015 Annex: 91350100M000100Y4 + check '3'
    assert uscc_check_char("91350100M000100Y4") == "3"


def test_check_config_command_reports_problems_and_exit_code(tmp_path):
    path = broken(
        tmp_path, "organization: wcrm, kind: modality", "organization: nobody, kind: modality"
    )
    done = subprocess.run([YILIAN, "check-config", str(path)], capture_output=True, text=True)
    assert done.returncode == 2
    assert (
        "ae_titles[1] (ae_title WCRM_CT1): field 'organization': unknown organization 'nobody'"
        in done.stderr
    )
    ok = subprocess.run(
        [YILIAN, "check-config", str(DEMO_ALLIANCE)], capture_output=True, text=True
    )
    assert ok.returncode == 0
    assert "9 organizations" in ok.stdout


SECRET = "secret: demo-secret-tx-wsy,"
EC_KEY = '{kty: EC, crv: P-384, kid: k1, x: "AAAA", y: "BBBB"}'


@pytest.mark.parametrize(
    ("jwks", "expected"),
    [
        (f"jwks: {{keys: [{EC_KEY}]}},", None),  # a signing client needs no secret
        ("jwks: {keys: []},", "non-empty 'keys' array"),
        (f"jwks: {{keys: [{EC_KEY[:-1]}, d: CCCC}}]}},", "register the public key only"),
        ('jwks: {keys: [{kty: oct, k: "AAAA"}]},', "RSA or EC"),
        ("", "give exactly one of 'secret' or 'secret_hash'"),
    ],
    ids=["public-key-only", "no-keys", "private-key", "symmetric-key", "no-credential"],
)
def test_a_backend_service_client_registers_public_keys(tmp_path, jwks, expected):
    path = broken(tmp_path, SECRET, jwks)
    if expected is None:
        [client] = [c for c in parse_alliance_file(path).api_clients if c.client_id == "his-tx-wsy"]
        assert (client.secret, client.jwks["keys"][0]["kid"]) == (None, "k1")
    else:
        with pytest.raises(ConfigError, match="api_clients"):
            parse_alliance_file(path)
        with pytest.raises(ConfigError, match=expected):
            parse_alliance_file(path)
