"""Who sees what through DICOMweb, tokens that must not work, and the audit trail."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select

from gateway.auth.scopes import Scopes
from gateway.auth.tokens import ALGORITHM, KeyRing, Requester, issue
from storage import transaction
from storage.models import AuditRecord
from tests.dicom_data import Patient, Study, write_series
from tests.integration.dicomweb.conftest import Gateway, seed, start_gateway


@pytest.fixture
def two_clinics(gateway: Gateway, tmp_path: Path) -> tuple[Study, Study]:
    tx = Study(accession="TX1")
    cz = Study(
        patient=Patient("330702199001012222", "Wang^Wu=王^五", "19900101", "M"), accession="CZ1"
    )
    seed(gateway, *write_series(tx, tmp_path / "tx", 1, "CT"))  # 汤溪卫生院
    seed(gateway, *write_series(cz, tmp_path / "cz", 1, "US"), org="cz-sq", ae="CZSQ_US1")
    return tx, cz


# who -> which of the two clinics' studies they see (the lead hospital's centres serve both).
SEES = [
    ("wanglei", {"TX1", "CZ1"}),  # reader at the lead hospital
    ("his-jhzx", {"TX1", "CZ1"}),  # the lead hospital's HIS
    ("his-tx-wsy", {"TX1"}),  # 汤溪卫生院's HIS: its own
    ("fengxia", {"CZ1"}),  # clinician at 城中社区: her own organization's
    ("his-wcrm", set()),  # another member hospital: neither
]


@pytest.mark.parametrize(("who", "visible"), SEES, ids=[w for w, _ in SEES])
def test_who_sees_what(
    gateway: Gateway, two_clinics: tuple[Study, Study], who: str, visible: set[str]
):
    listed = gateway.get("/studies", who=who)
    found = (
        {s["00080050"]["Value"][0] for s in listed.json()} if listed.status_code == 200 else set()
    )
    assert found == visible
    for study in two_clinics:
        metadata = gateway.get(f"/studies/{study.study_uid}/metadata", who=who)
        assert metadata.status_code == (200 if study.accession in visible else 404)
        retrieve = gateway.get(
            f"/studies/{study.study_uid}",
            who=who,
            headers={"Accept": 'multipart/related; type="application/dicom"; transfer-syntax=*'},
        )
        assert retrieve.status_code == (200 if study.accession in visible else 404)


def test_every_retrieve_is_audited(gateway: Gateway, two_clinics: tuple[Study, Study]):
    tx, cz = two_clinics
    assert gateway.get(f"/studies/{tx.study_uid}/metadata", who="his-tx-wsy").status_code == 200
    assert gateway.get(f"/studies/{cz.study_uid}/metadata", who="his-tx-wsy").status_code == 404
    with transaction(gateway.node.platform.sessions) as session:
        records = session.scalars(
            select(AuditRecord).where(AuditRecord.actor == "his-tx-wsy").order_by(AuditRecord.id)
        ).all()
    assert [(r.channel, r.action, r.outcome, r.entities["study_uid"]) for r in records] == [
        ("dicomweb", "WADO-RS metadata", "success", tx.study_uid),
        ("dicomweb", "WADO-RS metadata", "not_found", cz.study_uid),
    ]
    assert {r.actor_org_id for r in records} == {"tx-wsy"}


def test_tokens_that_must_not_work(gateway: Gateway, two_clinics: tuple[Study, Study]):
    url = f"{gateway.dicomweb}/studies"

    def status(token: str | None) -> int:
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        response = httpx.get(url, headers=headers)
        if response.status_code == 401:
            assert response.headers["www-authenticate"].startswith("Bearer")
        return response.status_code

    assert status(None) == 401
    assert status("not-a-jwt") == 401
    keys = KeyRing(gateway.node.platform.sessions)  # the gateway's own keys, from the database
    who = Requester("his-jhzx", "jhzx", "client", Scopes.parse("system/*.rs"))
    assert status(issue(keys, who, 60)) == 200
    assert status(issue(keys, who, -1)) == 401  # expired
    kid, _ = keys.signing_key()
    forged = jwt.encode(
        {"iss": "yilian", "sub": "x", "org": "jhzx", "kind": "client", "scope": "system/*.rs",
         "iat": int(time.time()), "exp": int(time.time()) + 60},
        ec.generate_private_key(ec.SECP256R1()),
        algorithm=ALGORITHM,
        headers={"kid": kid},
    )  # fmt: skip
    assert status(forged) == 401
    narrow = gateway.token("his-jhzx", scope="system/Patient.rs")
    assert status(narrow) == 403


def test_token_endpoint_errors(gateway: Gateway):
    token_url = f"{gateway.url}/auth/token"
    wrong = httpx.post(
        token_url, data={"grant_type": "client_credentials"}, auth=("his-jhzx", "wrong-secret!")
    )
    assert (wrong.status_code, wrong.json()["error"]) == (401, "invalid_client")
    grant = httpx.post(token_url, data={"grant_type": "implicit"})
    assert (grant.status_code, grant.json()["error"]) == (400, "unsupported_grant_type")
    no_code = httpx.post(token_url, data={"grant_type": "authorization_code"})
    assert (no_code.status_code, no_code.json()["error"]) == (400, "invalid_request")
    too_wide = httpx.post(
        token_url,
        data={"grant_type": "client_credentials", "scope": "system/*.cruds"},
        auth=("his-tx-wsy", "demo-secret-tx-wsy"),
    )
    assert (too_wide.status_code, too_wide.json()["error"]) == (400, "invalid_scope")
    login = httpx.post(
        token_url, data={"grant_type": "password", "username": "wanglei", "password": "nope1234"}
    )
    assert (login.status_code, login.json()["error"]) == (400, "invalid_grant")
    smart = httpx.get(f"{gateway.url}/.well-known/smart-configuration").json()
    assert smart["token_endpoint"] == token_url
    jwks = httpx.get(smart["jwks_uri"]).json()
    assert jwks["keys"][0]["kty"] == "EC"
    assert "d" not in jwks["keys"][0]  # the public half only


def test_cors_for_a_viewer_on_another_origin(tmp_path: Path, demo_sqlite: Path):
    viewer = "http://viewer.example"
    with start_gateway(tmp_path, demo_sqlite, cors_origins=[viewer]) as gateway:
        preflight = httpx.options(
            f"{gateway.dicomweb}/studies",
            headers={
                "Origin": viewer,
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "authorization,accept",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == viewer
        allowed = preflight.headers["access-control-allow-headers"].lower()
        assert "authorization" in allowed
        assert "accept" in allowed
        other = httpx.options(
            f"{gateway.dicomweb}/studies",
            headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "GET"},
        )
        assert other.status_code == 400
