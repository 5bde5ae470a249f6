"""FHIR REST writes and reads as a HIS makes them: versions, conditional update, delete with
history, Prefer, and precise OperationOutcomes for bad input (nothing half-written)."""

from __future__ import annotations

import json

import httpx
import pytest
from sqlalchemy import and_, func, not_, or_, select

from gateway.fhir.interactions import (
    CATALOGUE_TYPES,
    DIRECTORY_TYPES,
    SERVER_DEFINED,
    TERMINOLOGY_TYPES,
)
from storage import transaction
from storage.models import Centre, FhirResourceVersion, FhirStringIndex, FhirTokenIndex
from tests.integration.dicomweb.conftest import Gateway

FHIR_JSON = "application/fhir+json"
PATIENT = {
    "resourceType": "Patient",
    "identifier": [{"system": "urn:yilian:patient-id:tx-wsy", "value": "TX000123"}],
    "name": [{"text": "张三丰", "family": "张", "given": ["三丰"]}],
    "gender": "male",
    "birthDate": "1980-01-01",
}


def call(gateway: Gateway, method: str, path: str, who: str = "his-tx-wsy", body=None, **headers):
    auth = {"Authorization": f"Bearer {gateway.token(who)}", "Content-Type": FHIR_JSON, **headers}
    content = body if isinstance(body, bytes) else json.dumps(body).encode() if body else None
    return httpx.request(method, f"{gateway.url}/fhir{path}", headers=auth, content=content)


def versions(gateway: Gateway) -> int:
    """Versions written by clients (not what the server publishes itself: terminology and the
    recognition catalogue, directory, service catalogue, indicators, and the exam slots of the
    alliance file's booking rules, whose Schedule and Slot ids begin with the centre's)."""
    version = FhirResourceVersion
    with transaction(gateway.node.platform.sessions) as session:
        centres = session.scalars(select(Centre.id)).all()
        published = and_(
            version.resource_type.in_(("Schedule", "Slot")),
            or_(*[version.id.like(f"{centre}-%") for centre in centres]),
        )
        return session.scalar(
            select(func.count())
            .select_from(version)
            .where(
                version.resource_type.not_in(
                    (*DIRECTORY_TYPES, *CATALOGUE_TYPES, *SERVER_DEFINED, *TERMINOLOGY_TYPES)
                ),
                not_(published),
            )
        )


def test_create_read_update_delete_history(gateway: Gateway):
    created = call(gateway, "POST", "/Patient", body=PATIENT)
    assert created.status_code == 201
    patient = created.json()
    pid = patient["id"]
    assert created.headers["location"].endswith(f"/fhir/Patient/{pid}/_history/1")
    assert created.headers["etag"] == 'W/"1"'
    assert call(gateway, "GET", f"/Patient/{pid}").json()["name"][0]["text"] == "张三丰"

    changed = {**patient, "gender": "female"}
    stale = call(gateway, "PUT", f"/Patient/{pid}", body=changed, **{"If-Match": 'W/"0"'})
    assert stale.status_code == 412
    updated = call(gateway, "PUT", f"/Patient/{pid}", body=changed, **{"If-Match": 'W/"1"'})
    assert updated.status_code == 200
    assert updated.json()["meta"]["versionId"] == "2"
    minimal = call(gateway, "PUT", f"/Patient/{pid}", body=changed, Prefer="return=minimal")
    assert minimal.status_code == 200
    assert minimal.content == b""
    assert minimal.headers["etag"] == 'W/"3"'

    assert call(gateway, "DELETE", f"/Patient/{pid}").status_code == 204
    assert call(gateway, "GET", f"/Patient/{pid}").status_code == 410
    assert call(gateway, "GET", f"/Patient/{pid}/_history/1").json()["gender"] == "male"
    history = call(gateway, "GET", f"/Patient/{pid}/_history").json()
    assert [e["request"]["method"] for e in history["entry"]] == ["DELETE", "PUT", "PUT", "PUT"]

    put_new = call(gateway, "PUT", "/Patient/tx-000123", body={**PATIENT, "id": "tx-000123"})
    assert put_new.status_code == 201


def test_who_may_read_and_change(gateway: Gateway):
    pid = call(gateway, "POST", "/Patient", body=PATIENT).json()["id"]
    assert call(gateway, "GET", f"/Patient/{pid}", who="his-jhzx").status_code == 200  # lead
    assert call(gateway, "GET", f"/Patient/{pid}", who="his-cz-sq").status_code == 404  # other
    body = {**PATIENT, "id": pid, "gender": "other"}
    assert call(gateway, "PUT", f"/Patient/{pid}", who="his-jhzx", body=body).status_code == 403
    narrow = gateway.token("his-tx-wsy", scope="system/Patient.rs")
    response = httpx.post(
        f"{gateway.url}/fhir/Patient",
        headers={"Authorization": f"Bearer {narrow}", "Content-Type": FHIR_JSON},
        content=json.dumps(PATIENT),
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code", "expression"),
    [
        (b"{not json", FHIR_JSON, 400, "invalid", None),
        (json.dumps({"resourceType": "Observation"}).encode(), FHIR_JSON, 400, "invalid", None),
        (json.dumps({**PATIENT, "nickname": "x"}).encode(), FHIR_JSON, 422, "processing",
         "Patient.nickname"),
        (json.dumps({**PATIENT, "birthDate": "1980-13-01"}).encode(), FHIR_JSON, 422,
         "processing", "Patient.birthDate"),
        (json.dumps({**PATIENT, "gender": ["male"]}).encode(), FHIR_JSON, 422, "processing",
         "Patient.gender"),
        (json.dumps({**PATIENT, "gender": "男"}).encode(), FHIR_JSON, 422, "processing",
         "Patient.gender"),  # required binding: administrative-gender
        (json.dumps({**PATIENT, "contact": [{"gender": "female"}]}).encode(), FHIR_JSON, 422,
         "processing", "Patient.contact"),  # invariant pat-1: a contact has some detail
        (json.dumps(PATIENT).encode(), "application/xml", 415, "not-supported", None),
    ],
    ids=["not-json", "wrong-type", "unknown-element", "bad-date", "bad-cardinality",
         "not-in-value-set", "invariant", "xml"],
)  # fmt: skip
def test_bad_input_is_a_precise_outcome(
    gateway: Gateway, body, content_type, status, code, expression
):
    before = versions(gateway)
    response = call(gateway, "POST", "/Patient", body=body, **{"Content-Type": content_type})
    assert response.status_code == status
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["code"] == code
    if expression:
        assert expression in [e for issue in outcome["issue"] for e in issue.get("expression", [])]
    assert versions(gateway) == before


def test_capability_statement_states_what_is_served(gateway: Gateway):
    statement = httpx.get(f"{gateway.url}/fhir/metadata").json()
    resources = {r["type"]: r for r in statement["rest"][0]["resource"]}
    assert "Patient" in resources
    assert "Encounter" not in resources
    assert {i["code"] for i in resources["Patient"]["interaction"]} == {
        "read", "vread", "update", "patch", "delete", "history-instance", "history-type",
        "create", "search-type",
    }  # fmt: skip
    assert {o["name"] for o in resources["Patient"]["operation"]} == {
        "validate", "everything", "reveal-identifier", "match", "ihe-pix", "mdm-query-links",
        "mdm-update-link", "mdm-merge-golden-resources",
    }  # fmt: skip


def test_validate_operation_never_stores(gateway: Gateway):
    before = versions(gateway)
    valid = call(gateway, "POST", "/Patient/$validate", body=PATIENT)
    assert valid.status_code == 200
    assert valid.json()["issue"][0]["severity"] == "information"
    wrapped = {
        "resourceType": "Parameters",
        "parameter": [{"name": "resource", "resource": {**PATIENT, "x": 1}}],
    }
    invalid = call(gateway, "POST", "/Patient/$validate", body=wrapped)
    assert invalid.status_code == 422
    assert invalid.json()["issue"][0]["expression"] == ["Patient.x"]
    assert versions(gateway) == before


def test_search_index_follows_each_version(gateway: Gateway):
    def indexed(pid: str) -> tuple[set, set]:
        with transaction(gateway.node.platform.sessions) as session:
            tokens = set(
                session.execute(
                    select(FhirTokenIndex.param, FhirTokenIndex.code).where(
                        FhirTokenIndex.resource_id == pid
                    )
                )
            )
            strings = set(
                session.scalars(
                    select(FhirStringIndex.value).where(
                        FhirStringIndex.resource_id == pid, FhirStringIndex.param == "family"
                    )
                )
            )
        return tokens, strings

    pid = call(gateway, "POST", "/Patient", body=PATIENT).json()["id"]
    tokens, families = indexed(pid)
    assert ("identifier", "TX000123") in tokens
    assert ("gender", "male") in tokens
    assert families == {"张"}
    renamed = {**PATIENT, "id": pid, "name": [{"family": "李"}], "gender": "female"}
    call(gateway, "PUT", f"/Patient/{pid}", body=renamed)
    tokens, families = indexed(pid)
    assert ("gender", "female") in tokens
    assert ("gender", "male") not in tokens
    assert families == {"李"}
    call(gateway, "DELETE", f"/Patient/{pid}")
    assert indexed(pid) == (set(), set())


def test_conditional_create(gateway: Gateway):
    condition = {"If-None-Exist": "identifier=urn:yilian:patient-id:tx-wsy|TX000123"}
    first = call(gateway, "POST", "/Patient", body=PATIENT, **condition)
    assert first.status_code == 201
    again = call(gateway, "POST", "/Patient", body=PATIENT, **condition)
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert versions(gateway) == 1
    call(gateway, "POST", "/Patient", body=PATIENT)  # a second one with the same identifier
    ambiguous = call(gateway, "POST", "/Patient", body=PATIENT, **condition)
    assert ambiguous.status_code == 412
    unknown = call(gateway, "POST", "/Patient", body=PATIENT, **{"If-None-Exist": "colour=red"})
    assert unknown.status_code == 400


def test_json_patch(gateway: Gateway):
    pid = call(gateway, "POST", "/Patient", body=PATIENT).json()["id"]
    ops = [{"op": "replace", "path": "/gender", "value": "female"},
           {"op": "add", "path": "/name/0/given/-", "value": "丰"}]  # fmt: skip
    patch = {"Content-Type": "application/json-patch+json"}
    patched = call(gateway, "PATCH", f"/Patient/{pid}", body=ops, **patch)
    assert patched.status_code == 200
    assert patched.json()["gender"] == "female"
    assert patched.json()["name"][0]["given"] == ["三丰", "丰"]
    assert patched.json()["meta"]["versionId"] == "2"
    stale = call(gateway, "PATCH", f"/Patient/{pid}", body=ops, **patch, **{"If-Match": 'W/"1"'})
    assert stale.status_code == 412
    add_unknown = [{"op": "add", "path": "/x", "value": 1}]
    invalid = call(gateway, "PATCH", f"/Patient/{pid}", body=add_unknown, **patch)
    assert invalid.status_code == 422
    assert invalid.json()["issue"][0]["expression"] == ["Patient.x"]
    remove_missing = [{"op": "remove", "path": "/nope"}]
    broken = call(gateway, "PATCH", f"/Patient/{pid}", body=remove_missing, **patch)
    assert broken.status_code == 422
    wrong_type = call(gateway, "PATCH", f"/Patient/{pid}", body=ops)
    assert wrong_type.status_code == 415
    assert call(gateway, "GET", f"/Patient/{pid}").json()["meta"]["versionId"] == "2"


def test_conditional_update(gateway: Gateway):
    url = "/Patient?identifier=urn:yilian:patient-id:tx-wsy|TX000123"
    created = call(gateway, "PUT", url, body=PATIENT)
    assert created.status_code == 201
    updated = call(gateway, "PUT", url, body={**PATIENT, "gender": "female"})
    assert updated.status_code == 200
    assert updated.json()["id"] == created.json()["id"]
    assert updated.json()["gender"] == "female"
    call(gateway, "POST", "/Patient", body=PATIENT)
    assert call(gateway, "PUT", url, body=PATIENT).status_code == 412


def test_conditional_delete_and_search_by_tag_and_profile(gateway: Gateway):
    profile = "http://yilian.example/StructureDefinition/cn-patient"
    meta = {"tag": [{"system": "urn:yilian:tag", "code": "vip"}], "profile": [profile]}
    ids = []
    for number in ("DEL-1", "DEL-2"):
        identifier = [{"system": "urn:yilian:patient-id:tx-wsy", "value": number}]
        body = {**PATIENT, "meta": meta, "identifier": identifier}
        ids.append(call(gateway, "POST", "/Patient", body=body).json()["id"])

    def found(query: str) -> list[str]:
        bundle = call(gateway, "GET", f"/Patient?{query}").json()
        return sorted(e["resource"]["id"] for e in bundle.get("entry", []))

    assert found("_tag=urn:yilian:tag|vip") == sorted(ids)
    assert found(f"_profile={profile}") == sorted(ids)
    assert found("_tag=urn:yilian:tag|other") == []
    before = versions(gateway)
    assert call(gateway, "DELETE", "/Patient?_tag=urn:yilian:tag|vip").status_code == 412
    assert call(gateway, "DELETE", "/Patient").status_code == 400
    assert call(gateway, "DELETE", "/Patient?identifier=nobody").status_code == 204
    assert versions(gateway) == before  # nothing deleted by any of these
    deleted = call(gateway, "DELETE", "/Patient?identifier=urn:yilian:patient-id:tx-wsy|DEL-1")
    assert deleted.status_code == 204
    assert call(gateway, "GET", f"/Patient/{ids[0]}").status_code == 410
    assert found("_tag=urn:yilian:tag|vip") == [ids[1]]
