"""The model choice, proven: every official R4 example of the types Yilian serves, loaded
through transaction Bundles, is accepted and reads back unchanged (the R4B models used for
validation keep the R4 structure)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from fhir_profiles.invariant_paths import presence_rule
from fhir_profiles.search_values import DEFINITIONS, fhirpath, parameters
from fhir_profiles.validation import CONSTRAINTS, SUPPORTED_TYPES, rule_expression, validate
from gateway.fhir.interactions import (
    CATALOGUE_TYPES,
    DIRECTORY_TYPES,
    SERVER_DEFINED,
    SERVER_WRITTEN,
)
from tests.integration.dicomweb.conftest import Gateway, start_gateway

TERMINOLOGY = {"CodeSystem", "ValueSet"}
# Written by the server (the access log; the directory and the service catalogue, from the
# registry; the charges of completed services; the indicators): their examples are validated,
# not posted.
READ_ONLY = {"AuditEvent", *DIRECTORY_TYPES, *CATALOGUE_TYPES, *SERVER_WRITTEN, *SERVER_DEFINED}


@pytest.fixture
def open_gateway(tmp_path: Path, demo_sqlite: Path) -> Iterator[Gateway]:
    """The examples refer to resources that are not among them (``Patient/f001``'s GP): this
    server does not check references, like HAPI with referential integrity off."""
    with start_gateway(tmp_path, demo_sqlite, fhir_check_references=False) as running:
        yield running


def test_official_examples_round_trip(open_gateway: Gateway, r4_examples: list[dict[str, Any]]):
    gateway = open_gateway
    served = set(SUPPORTED_TYPES) - TERMINOLOGY - READ_ONLY
    chosen = [r for r in r4_examples if r["resourceType"] in served]
    assert len(chosen) > 150
    assert {r["resourceType"] for r in chosen} == served
    server_written = [r for r in r4_examples if r["resourceType"] in READ_ONLY]
    assert {r["resourceType"] for r in server_written} == READ_ONLY
    assert all(validate(r) == [] for r in server_written)
    headers = {
        "Authorization": f"Bearer {gateway.token('his-jhzx')}",
        "Content-Type": "application/fhir+json",
    }
    with httpx.Client(base_url=f"{gateway.url}/fhir", headers=headers, timeout=120) as client:
        for start in range(0, len(chosen), 100):
            batch = chosen[start : start + 100]
            bundle = {
                "resourceType": "Bundle",
                "type": "transaction",
                "entry": [
                    {
                        "resource": r,
                        "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"},
                    }
                    for r in batch
                ],
            }
            loaded = client.post("", content=json.dumps(bundle))
            assert loaded.status_code == 200, loaded.text[:1000]
        for example in chosen:
            path = f"/{example['resourceType']}/{example['id']}"
            back = client.get(path).json()
            meta = back.pop("meta")
            assert meta["versionId"] == "1"
            original = dict(example)
            original_meta = original.pop("meta", {})
            assert back == original, path
            for key, value in original_meta.items():
                if key not in ("versionId", "lastUpdated"):
                    assert meta[key] == value, path


def test_index_values_are_what_fhirpath_gives(r4_examples: list[dict[str, Any]]):
    """The direct JSON walk used for the simple SearchParameter expressions extracts exactly
    what fhirpathpy evaluating the official expression extracts, on every example; a parameter
    skipped because none of the elements it starts from is present has no value."""
    definitions = json.loads(DEFINITIONS.read_text())
    checked = 0
    for example in r4_examples:
        resource_type = example["resourceType"]
        if resource_type not in SUPPORTED_TYPES:
            continue
        for parameter, definition in zip(
            parameters(resource_type),
            definitions[resource_type],
            strict=True,
        ):
            assert parameter.code == definition["code"]
            reference = _plain(fhirpath(definition["expression"])(example, {}))
            assert _plain(parameter.evaluate(example, {})) == reference, (
                f"{resource_type}/{example.get('id')} {parameter.code}"
            )
            if parameter.needs is not None and parameter.needs.isdisjoint(example):
                assert not reference, f"{parameter.code} skipped but has values"
            checked += bool(reference)
    assert checked > 3000


def test_presence_rules_answer_as_fhirpath(r4_examples: list[dict[str, Any]]):
    """Every base invariant the JSON walk takes (``invariant_paths``) gives fhirpathpy's answer
    on every example of its type, or leaves it to fhirpathpy."""
    constraints = json.loads(CONSTRAINTS.read_text())
    decided = 0
    for example in r4_examples:
        resource_type = example["resourceType"]
        for rule in constraints.get(resource_type, {}).get("invariants", []):
            expression = rule_expression(rule["path"], rule["expression"])
            fast = presence_rule(expression, resource_type)
            if fast is None:
                continue
            answer = fast(example)
            if answer is None:
                continue
            reference = fhirpath(expression)(example, {"resource": example}) in ([True], [])
            assert answer == reference, f"{resource_type}/{example.get('id')} {rule['key']}"
            decided += 1
    assert decided > 2000


def _plain(values: list[Any]) -> Any:
    """fhirpathpy gives decimals as Decimal; the JSON has floats."""
    return json.loads(json.dumps(values, default=float))
