"""The gateway fixture of the DICOMweb tests, and the official FHIR R4 examples (npm package
``hl7.fhir.r4.examples@4.0.1``, fetched once per session from the npm registry and checked)."""

from __future__ import annotations

import hashlib
import json
import tarfile
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.integration.dicomweb.conftest import gateway  # noqa: F401 (a fixture)
from tests.integration.fhir.test_reading import task  # noqa: F401 (a fixture)
from tests.integration.fhir.test_subscriptions import receiver  # noqa: F401 (a fixture)

EXAMPLES_URL = "https://registry.npmjs.org/hl7.fhir.r4.examples/-/hl7.fhir.r4.examples-4.0.1.tgz"
EXAMPLES_SHA256 = "dce87f1b5b9341867033f7d1f544fa1b5232503f6d62813887ac6b8a8b6cb682"


@pytest.fixture(scope="session")
def r4_examples_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    archive = tmp_path_factory.mktemp("r4") / "examples.tgz"
    with urllib.request.urlopen(EXAMPLES_URL, timeout=120) as response:
        archive.write_bytes(response.read())
    assert hashlib.sha256(archive.read_bytes()).hexdigest() == EXAMPLES_SHA256
    return archive


@pytest.fixture(scope="session")
def r4_examples(r4_examples_archive: Path) -> list[dict[str, Any]]:
    archive = r4_examples_archive
    resources = []
    with tarfile.open(archive) as bundle:
        for member in bundle.getmembers():
            if (
                member.isfile()
                and member.name.endswith(".json")
                and "/package/" in f"/{member.name}"
            ):
                handle = bundle.extractfile(member)
                assert handle is not None
                try:
                    resources.append(json.loads(handle.read()))
                except ValueError:
                    continue  # package metadata that is not a resource
    return [r for r in resources if isinstance(r, dict) and "resourceType" in r]
