"""schemathesis drives every operation of the OpenAPI description with generated requests
(as the lead hospital's HIS, with a token): none may answer with a server error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.integration.dicomweb.conftest import Gateway


def test_no_server_errors(gateway: Gateway):
    st = Path(sys.executable).with_name("st")
    result = subprocess.run(
        [
            str(st), "run", f"{gateway.url}/openapi.json",
            "-H", f"Authorization: Bearer {gateway.token('his-jhzx')}",
            "--checks", "not_a_server_error",
            "--max-examples", "10",
            "--workers", "1",
            "--seed", "20261124",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:]
    assert " passed" in result.stdout
