"""Property-based fuzzing of the FHIR API, bounded and seeded: valid resources mutated the ways
broken senders break them (wrong JSON types, nulls, empty things, control characters, huge and
deep values, unknown elements and types), and search parameters made of the type's real names
with odd values, prefixes and modifiers.  Whatever comes in: never a 5xx, a refusal leaves
nothing behind, and what is accepted reads back unchanged and valid for a strict R4 client."""

from __future__ import annotations

import json
from typing import Any

import httpx
from fhirclient.models.observation import Observation
from fhirclient.models.patient import Patient
from hypothesis import given
from hypothesis import strategies as st

from fhir_profiles.search_values import search_parameter_codes
from tests.integration.dicomweb.conftest import Gateway
from tests.integration.fhir.test_bad_input import HIS, OBSERVATION
from tests.integration.fhir.test_rest import FHIR_JSON, PATIENT, versions

STRICT = {"Patient": Patient, "Observation": Observation}
ODD = st.one_of(
    st.none(),
    st.just(""),
    st.just([]),
    st.just({}),
    st.sampled_from(["true", "2", "4.1", "\u0000", " ", "2026-13-45", "2016-12-31T23:59:60Z"]),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.builds(lambda depth: json.loads("[" * depth + "]" * depth), st.integers(1, 80)),
    st.dictionaries(st.sampled_from(["url", "valueString", "extension", "x"]), st.text(max_size=5)),
)


def _paths(node: Any, path: tuple = ()) -> list[tuple]:
    """Every place in a JSON document (keys and array positions), the root excluded."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            found += [(*path, key), *_paths(value, (*path, key))]
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += [(*path, index), *_paths(value, (*path, index))]
    return found


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, Any]:
    document = json.loads(json.dumps(draw(st.sampled_from([PATIENT, OBSERVATION]))))
    for _ in range(draw(st.integers(1, 3))):
        places = [p for p in _paths(document) if p != ("resourceType",)]
        place = draw(st.sampled_from(places))
        parent = document
        for step in place[:-1]:
            parent = parent[step]
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "delete" and isinstance(parent, dict):
            del parent[place[-1]]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.sampled_from(["foo", "_active", "extension", "contained", "id"]))] = (
                draw(ODD)
            )
        else:
            parent[place[-1]] = draw(ODD)
    return document


def client(gateway: Gateway) -> httpx.Client:
    """One connection with one token for a whole run (the lead hospital's HIS: every scope)."""
    auth = {"Authorization": f"Bearer {gateway.token(HIS)}", "Content-Type": FHIR_JSON}
    return httpx.Client(base_url=f"{gateway.url}/fhir", headers=auth, timeout=30)


def test_mutated_resources_are_stored_valid_or_refused_whole(gateway: Gateway):
    accepted, tried = [], []
    before = versions(gateway)
    fhir = client(gateway)

    @given(mutated())
    def post(document: dict[str, Any]) -> None:
        kind = document["resourceType"]
        tried.append(kind)
        response = fhir.post(f"/{kind}", content=json.dumps(document).encode())
        assert response.status_code < 500, response.text
        if response.status_code == 201:
            accepted.append(response.json()["id"])
            stored = fhir.get(f"/{kind}/{accepted[-1]}").json()
            STRICT[kind](stored, strict=True)
            assert {k: v for k, v in stored.items() if k not in ("id", "meta")} == {
                k: v for k, v in document.items() if k not in ("id", "meta")
            }
        else:
            assert response.json()["resourceType"] == "OperationOutcome"

    post()
    assert len(tried) >= 100  # it ran
    assert 0 < len(accepted) < len(tried)  # and went both ways
    assert versions(gateway) == before + len(accepted)  # refusals left nothing behind
    assert fhir.get("/metadata").status_code == 200


PREFIXES = ["", "eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap", "zz"]
MODIFIERS = ["", ":missing", ":exact", ":contains", ":text", ":not", ":above", ":Patient", ":x"]
VALUES = st.one_of(
    st.text(max_size=25),
    st.sampled_from(
        [
            "2026-13-45",
            "2026-02-29",
            "2026-01-01T10:00:60Z",
            "1e999",
            "nan",
            "http://loinc.org|",
            "|2823-3",
            "Patient/",
            "a,b,,c",
            "\\,",
            "true",
            "-1",
            "²",
            "9" * 40,
        ]
    ),
)


@st.composite
def search_query(draw: st.DrawFn) -> tuple[str, list[tuple[str, str]]]:
    kind = draw(st.sampled_from(["Patient", "Observation", "ServiceRequest", "DiagnosticReport"]))
    names = [*search_parameter_codes(kind), "_count", "_offset", "_sort", "_summary",
             "_elements", "_include", "_revinclude", "_total", "_has:Observation:subject:code",
             "subject:Patient.name", "unknown"]  # fmt: skip
    params = [
        (draw(st.sampled_from(names)) + draw(st.sampled_from(MODIFIERS)),
         draw(st.sampled_from(PREFIXES)) + draw(VALUES))
        for _ in range(draw(st.integers(1, 3)))
    ]  # fmt: skip
    return kind, params


def test_odd_search_parameters_never_cost_a_server_error(gateway: Gateway):
    fhir = client(gateway)

    @given(search_query(), st.booleans())
    def search(query: tuple[str, list[tuple[str, str]]], strict: bool) -> None:
        kind, params = query
        prefer = {"Prefer": "handling=strict"} if strict else {}
        response = fhir.get(f"/{kind}", params=params, headers=prefer)
        assert response.status_code in (200, 400), response.text
        assert response.json()["resourceType"] in ("Bundle", "OperationOutcome")

    search()
