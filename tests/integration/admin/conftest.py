"""A gateway and DICOM node over a copy of the demo database, and the admin API as its
administrator (``admin`` of the lead hospital) calls it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.dicomweb.conftest import Gateway, start_gateway


@dataclass
class Admin:
    gateway: Gateway
    who: str = "admin"

    def call(self, method: str, path: str, json: Any = None, who: str | None = None):
        headers = {"Authorization": f"Bearer {self.gateway.token(who or self.who)}"}
        return httpx.request(
            method, f"{self.gateway.url}/admin{path}", json=json, headers=headers, timeout=60
        )

    def registry(self) -> dict[str, list[dict[str, Any]]]:
        answer = self.call("GET", "/registry")
        assert answer.status_code == 200, answer.text
        return answer.json()["sections"]

    def audit(self, **params: str) -> list[dict[str, Any]]:
        query = "&".join(f"{k}={v}" for k, v in params.items())
        answer = self.call("GET", f"/audit-records?{query}")
        assert answer.status_code == 200, answer.text
        return answer.json()["records"]


@pytest.fixture(scope="module")
def admin(tmp_path_factory: pytest.TempPathFactory, demo_sqlite: Path) -> Iterator[Admin]:
    with start_gateway(tmp_path_factory.mktemp("admin"), demo_sqlite) as running:
        yield Admin(running)
