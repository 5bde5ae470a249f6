"""schemathesis drives every operation of the admin API with generated requests, as the lead
hospital's administrator: none may answer with a server error (a malformed entry is the alliance
check's 422, an id out of range a 422, an unknown one a 404)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.dicomweb.conftest import Gateway, start_gateway


@pytest.fixture
def gateway(tmp_path: Path, demo_sqlite: Path) -> Iterator[Gateway]:
    with start_gateway(tmp_path, demo_sqlite) as running:
        yield running


def test_no_server_errors_in_the_admin_api(gateway: Gateway):
    st = Path(sys.executable).with_name("st")
    result = subprocess.run(
        [
            str(st), "run", f"{gateway.url}/openapi.json",
            "-H", f"Authorization: Bearer {gateway.token('admin')}",
            "--checks", "not_a_server_error",
            "--max-examples", "40",
            "--include-path-regex", "^/admin",
            "--workers", "1",
            "--seed", "20261202",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-6000:]
    assert "Selected: 12/" in result.stdout
