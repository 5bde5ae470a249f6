"""What a careless or broken HIS sends, and what it gets back: a 4xx OperationOutcome that says
where the problem is, on a connection that stays open, and nothing stored — so that what the
alliance keeps, every member's software (strict clients included) can read."""

from __future__ import annotations

import json
import socket

import pytest
from fhirclient.models.observation import Observation
from fhirclient.models.patient import Patient

from tests.integration.dicomweb.conftest import Gateway
from tests.integration.fhir.test_rest import PATIENT, call, versions

HIS = "his-jhzx"  # the lead hospital's HIS: every scope
OBSERVATION = {
    "resourceType": "Observation",
    "status": "final",
    "code": {"coding": [{"system": "http://loinc.org", "code": "2823-3"}], "text": "钾"},
    "valueQuantity": {"value": 4.1, "unit": "mmol/L"},
}


def refused(gateway: Gateway, body: dict | bytes, status: int, where: str | None = None) -> str:
    """POST ``body``, expect ``status`` with an OperationOutcome (naming ``where``) and nothing
    stored; the diagnostics."""
    before = versions(gateway)
    kind = body["resourceType"] if isinstance(body, dict) else "Patient"
    response = call(gateway, "POST", f"/{kind}", HIS, body=body)
    assert response.status_code == status, response.text
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    if where is not None:
        assert where in [e for issue in outcome["issue"] for e in issue.get("expression", [])]
    assert versions(gateway) == before
    return " ".join(issue["diagnostics"] for issue in outcome["issue"])


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({**PATIENT, "active": "true"}, "Patient.active"),
        ({**PATIENT, "multipleBirthInteger": "2"}, "Patient.multipleBirthInteger"),
        ({**OBSERVATION, "valueQuantity": {"value": "4.1"}}, "Observation.valueQuantity.value"),
        ({**PATIENT, "birthDate": 19800101}, "Patient.birthDate"),
    ],
    ids=["boolean-as-string", "integer-as-string", "decimal-as-string", "date-as-number"],
)
def test_a_primitive_of_the_wrong_json_type_is_refused_not_coerced(gateway: Gateway, body, where):
    assert "must be a JSON" in refused(gateway, body, 422, where)


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({**PATIENT, "identifier": None}, "Patient.identifier"),
        ({**PATIENT, "name": []}, "Patient.name"),
        ({**PATIENT, "name": [{}]}, "Patient.name[0]"),
        ({**PATIENT, "name": [{"text": "   "}]}, "Patient.name[0].text"),
        ({**OBSERVATION, "code": {"coding": None}}, "Observation.code.coding"),
        ({**PATIENT, "extension": [{"url": "http://example.org/x"}]}, "Patient.extension[0]"),
    ],
    ids=["null", "empty-array", "empty-object", "blank-string", "null-in-datatype", "ext-1"],
)
def test_nulls_empty_elements_and_bare_extensions_are_refused(gateway: Gateway, body, where):
    refused(gateway, body, 422, where)


def test_control_characters_in_a_string_are_refused(gateway: Gateway):
    body = {**PATIENT, "name": [{"text": "张\u0000三"}]}
    assert "control characters" in refused(gateway, body, 422, "Patient.name[0].text")


def test_a_contained_resource_of_no_known_type_is_a_422_not_a_500(gateway: Gateway):
    body = {**PATIENT, "contained": [{"resourceType": "Foo", "id": "a"}]}
    assert "'Foo' is not a FHIR resource type" in refused(gateway, body, 422)


def test_json_nested_past_the_limits_is_refused_with_an_outcome(gateway: Gateway):
    refused(gateway, ("[" * 1100 + "]" * 1100).encode(), 400)
    extension: dict = {"url": "http://example.org/x", "valueString": "x"}
    for _ in range(130):
        extension = {"url": "http://example.org/x", "extension": [extension]}
    assert "nested deeper than 64" in refused(gateway, {**PATIENT, "extension": [extension]}, 422)


def test_a_number_no_double_can_hold_is_refused(gateway: Gateway):
    body = json.dumps(OBSERVATION).replace("4.1", "9" * 401).encode()
    before = versions(gateway)
    response = call(gateway, "POST", "/Observation", HIS, body=body)
    assert response.status_code == 422
    assert "Observation.valueQuantity.value" in response.text
    assert versions(gateway) == before


def test_a_leap_second_is_valid_fhir_and_is_found_by_its_minute(gateway: Gateway):
    body = {**PATIENT, "deceasedDateTime": "2016-12-31T23:59:60Z"}
    created = call(gateway, "POST", "/Patient", HIS, body=body)
    assert created.status_code == 201, created.text
    found = call(gateway, "GET", "/Patient?death-date=2016-12-31T23:59", HIS).json()
    assert [e["resource"]["id"] for e in found["entry"]] == [created.json()["id"]]


def test_what_is_stored_is_what_a_strict_r4_client_reads(gateway: Gateway):
    for body, model in ((PATIENT, Patient), (OBSERVATION, Observation)):
        created = call(gateway, "POST", f"/{body['resourceType']}", HIS, body=body).json()
        read = call(gateway, "GET", f"/{body['resourceType']}/{created['id']}", HIS).json()
        model(read, strict=True)  # raises on any coerced or malformed element
        assert {k: v for k, v in read.items() if k not in ("id", "meta")} == body


def test_versions_that_cannot_exist_are_404_and_412_not_500(gateway: Gateway):
    stored = call(gateway, "POST", "/Patient", HIS, body=PATIENT).json()
    huge = "45042122712192716183963697152"
    read = call(gateway, "GET", f"/Patient/{stored['id']}/_history/{huge}", HIS)
    assert read.status_code == 404
    update = call(
        gateway, "PUT", f"/Patient/{stored['id']}", HIS, body=stored, **{"If-Match": huge}
    )
    assert update.status_code == 412
    assert call(gateway, "GET", f"/AuditEvent/{huge}0", HIS).status_code == 404


@pytest.mark.parametrize(
    ("patch", "status"),
    [
        ([{"op": "replace", "path": "name", "value": 1}], 400),  # a pointer without "/"
        ([{"op": "replace", "path": "", "value": 1}], 422),  # the whole resource replaced by 1
        ({"op": "replace"}, 400),  # not an array of operations
        ([{"op": "add", "path": "/x/y", "value": 1}], 422),  # a path that is not there
    ],
    ids=["no-slash", "whole-document", "not-an-array", "missing-parent"],
)
def test_json_patch_with_a_bad_pointer_is_a_4xx(gateway: Gateway, patch, status):
    stored = call(gateway, "POST", "/Patient", HIS, body=PATIENT).json()
    before = versions(gateway)
    response = call(
        gateway, "PATCH", f"/Patient/{stored['id']}", HIS, body=patch,
        **{"Content-Type": "application/json-patch+json"},
    )  # fmt: skip
    assert response.status_code == status, response.text
    assert response.json()["resourceType"] == "OperationOutcome"
    assert versions(gateway) == before


@pytest.mark.parametrize(
    "query",
    [
        "Patient?_count=abc",
        "Patient?_count=%C2%B2",  # "²", a digit to Python's str.isdigit
        "Patient?_offset=99999999999999999999999",
        "Patient?birthdate=ge2026-13-45",
        "Patient?birthdate=2026-02-29",
        "Patient?_lastUpdated=gt2026-99",
        "Patient?name:foo=x",
        "Observation?value-quantity=nan",
        "Observation?value-quantity=gt1e999",
        "Patient/_history?_count=99999999999999999999",
    ],
)
def test_malformed_search_parameters_are_400_with_an_outcome(gateway: Gateway, query):
    response = call(gateway, "GET", f"/{query}", HIS)
    assert response.status_code == 400, response.text
    assert response.json()["resourceType"] == "OperationOutcome"


def test_a_refused_request_keeps_its_connection_open(gateway: Gateway):
    """Two requests on one HTTP/1.1 connection: a refused write, then a read that is answered."""
    host, port = gateway.url.removeprefix("http://").split(":")
    token = gateway.token(HIS)
    body = json.dumps({**PATIENT, "active": "true"}).encode()
    first = (
        f"POST /fhir/Patient HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/fhir+json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    second = f"GET /fhir/metadata HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    with socket.create_connection((host, int(port)), timeout=30) as conn:
        conn.sendall(first)
        answer = _read_response(conn)
        assert answer.startswith(b"HTTP/1.1 422")
        assert b"connection: close" not in answer.lower()
        conn.sendall(second)
        assert _read_response(conn).startswith(b"HTTP/1.1 200")


def _read_response(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(65536)
    head, _, rest = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1]) for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )  # fmt: skip
    while len(rest) < length:
        rest += conn.recv(65536)
    return head + b"\r\n\r\n" + rest


def test_the_limits_are_stated_and_kept(gateway: Gateway):
    statement = call(gateway, "GET", "/metadata", HIS).json()
    assert "16 MiB" in statement["rest"][0]["documentation"]
    many = {**PATIENT, "name": [{"given": ["三"] * 100_001}]}
    assert "more than 100,000 values" in refused(gateway, many, 422)
    huge = json.dumps({**PATIENT, "name": [{"text": "张" * (6 * 2**20)}]}).encode()  # 18 MiB
    response = call(gateway, "POST", "/Patient", HIS, body=huge)
    assert response.status_code == 413
    assert response.json()["resourceType"] == "OperationOutcome"


def test_a_whole_number_beyond_64_bits_reads_back_as_given_not_rounded(gateway: Gateway):
    """The R4 examples carry such decimals (Observation-decimal: 10**18); JSON parsers that
    read them as doubles round them (-9223372036854775809 came back -9.223372036854776e+18)."""
    body = json.dumps(OBSERVATION).replace("4.1", "-9223372036854775809").encode()
    created = call(gateway, "POST", "/Observation", HIS, body=body)
    assert created.status_code == 201, created.text
    read = call(gateway, "GET", f"/Observation/{created.json()['id']}", HIS)
    assert b'"value":-9223372036854775809' in read.content.replace(b" ", b"")
    assert read.json()["valueQuantity"]["value"] == -9223372036854775809
