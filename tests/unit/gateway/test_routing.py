"""A PrefixRouter answers what its routes answer and leaves other paths to the routers after
it, behind a proxy's root path too."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from gateway.routing import PrefixRouter


def _app(root_path: str = "") -> FastAPI:
    first = PrefixRouter(prefix="/fhir")

    @first.get("/{kind}/{ident}")
    async def read(kind: str, ident: str) -> dict[str, str]:
        return {"by": "prefixed", "kind": kind, "ident": ident}

    @first.get("")
    async def base() -> dict[str, str]:
        return {"by": "prefixed base"}

    after = PrefixRouter(prefix="/fhirx")

    @after.get("/{kind}/{ident}")
    async def other(kind: str, ident: str) -> dict[str, str]:
        return {"by": "after"}

    app = FastAPI(root_path=root_path)
    app.include_router(first)
    app.include_router(after)
    return app


@pytest.mark.parametrize("root_path", ["", "/yilian"])
def test_requests_reach_the_routes_of_their_prefix(root_path: str):
    client = TestClient(_app(root_path), root_path=root_path)
    assert client.get(f"{root_path}/fhir/Patient/1").json()["by"] == "prefixed"
    assert client.get(f"{root_path}/fhir").json()["by"] == "prefixed base"
    # A path that merely begins with the same letters belongs to the router after it.
    assert client.get(f"{root_path}/fhirx/Patient/1").json()["by"] == "after"
    assert client.get(f"{root_path}/dicomweb/studies").status_code == 404
    assert client.post(f"{root_path}/fhir/Patient/1").status_code == 405
