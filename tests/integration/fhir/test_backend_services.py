"""SMART Backend Services as a system connects: the alliance registers a HIS's public key; the
HIS, with fhirclient and nothing but the FHIR base URL, finds the token endpoint through the
CapabilityStatement, authenticates with a JWT signed by its private key and reads; the token
endpoint refuses a replayed, foreign, mis-addressed or long-lived assertion."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import httpx
import jwt
import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric import ec
from fhirclient import client as fhir_client
from fhirclient.models.patient import Patient

from storage import import_alliance_file
from tests.conftest import DEMO_ALLIANCE
from tests.integration.dicomweb.conftest import Gateway
from tests.integration.fhir.test_rest import PATIENT, call

CLIENT = "his-tx-backend"
KID = "tx-2026"


@pytest.fixture
def key(gateway: Gateway, tmp_path: Path) -> ec.EllipticCurvePrivateKey:
    """A P-384 key pair; the alliance file registers the public half for the clinic's HIS."""
    private = ec.generate_private_key(ec.SECP384R1())
    public = jwt.algorithms.ECAlgorithm.to_jwk(private.public_key(), as_dict=True)
    alliance = yaml.safe_load(DEMO_ALLIANCE.read_text())
    alliance["api_clients"].append({
        "client_id": CLIENT, "name": "汤溪卫生院 HIS（后台服务）", "organization": "tx-wsy",
        "scopes": ["system/Patient.rs"],
        "jwks": {"keys": [{**public, "kid": KID, "alg": "ES384", "use": "sig"}]},
    })  # fmt: skip
    path = tmp_path / "alliance.yaml"
    path.write_text(yaml.safe_dump(alliance, allow_unicode=True))
    import_alliance_file(gateway.node.platform.sessions, path)
    return private


def assertion(gateway: Gateway, key: ec.EllipticCurvePrivateKey, **changes) -> str:
    claims = {
        "iss": CLIENT, "sub": CLIENT, "aud": f"{gateway.url}/auth/token",
        "exp": int(time.time()) + 240, "jti": uuid.uuid4().hex, **changes,
    }  # fmt: skip
    return jwt.encode(claims, key, algorithm="ES384", headers={"kid": KID})


def token_request(gateway: Gateway, signed: str) -> httpx.Response:
    return httpx.post(f"{gateway.url}/auth/token", data={
        "grant_type": "client_credentials", "scope": "system/Patient.rs",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": signed,
    })  # fmt: skip


def test_fhirclient_connects_with_smart_discovery_and_its_key_alone(gateway: Gateway, key):
    stored = call(gateway, "POST", "/Patient", body=PATIENT).json()  # the clinic's own patient
    smart = fhir_client.FHIRClient(settings={
        "app_id": CLIENT, "api_base": f"{gateway.url}/fhir", "scope": "system/Patient.rs",
        "jwt_token": assertion(gateway, key),
    })  # fmt: skip
    smart.wants_patient = False  # a backend service: no patient to pick
    smart.prepare()  # reads the CapabilityStatement: the token endpoint, nothing configured
    smart.authorize()
    assert smart.ready
    patient = Patient.read(stored["id"], smart.server)
    assert patient.name[0].text == PATIENT["name"][0]["text"]


def test_the_token_endpoint_refuses_assertions_it_must_not_take(gateway: Gateway, key):
    signed = assertion(gateway, key)
    assert token_request(gateway, signed).status_code == 200
    replayed = token_request(gateway, signed)
    assert (replayed.status_code, replayed.json()["error"]) == (401, "invalid_client")
    assert "used already" in replayed.json()["error_description"]
    stranger = ec.generate_private_key(ec.SECP384R1())
    assert token_request(gateway, assertion(gateway, stranger)).status_code == 401
    elsewhere = assertion(gateway, key, aud="https://other.example/token")
    assert token_request(gateway, elsewhere).status_code == 401
    lasting = assertion(gateway, key, exp=int(time.time()) + 3600)
    assert "five minutes" in token_request(gateway, lasting).json()["error_description"]
    unknown = assertion(gateway, key, iss="his-nobody", sub="his-nobody")
    assert token_request(gateway, unknown).status_code == 401
