"""The HTTP gateway (uvicorn on a real socket) and the DICOM node over one demo database, so
tests push with DCMTK and read back with DICOMweb clients."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from dicomweb_client import DICOMwebClient

from gateway.app import create_app
from storage.dicom import Sender, ingest_file
from tests.integration.dicom.conftest import RunningNode, start_demo_node, start_node, stop_node
from tests.servers import free_port, wait_for_port

PASSWORD = "Demo@2026"


@dataclass
class Gateway:
    node: RunningNode
    url: str
    # Tokens already issued, by (who, scope): a password or secret check costs a hash each.
    tokens: dict[tuple[str, str], str] = field(default_factory=dict, repr=False)

    @property
    def dicomweb(self) -> str:
        return f"{self.url}/dicomweb"

    def token(self, who: str, scope: str = "") -> str:
        """A bearer token for a demo API client (``his-…``) or a demo user."""
        if (who, scope) in self.tokens:
            return self.tokens[who, scope]
        if who.startswith("his-"):
            data = {"grant_type": "client_credentials", "scope": scope}
            auth = (who, f"demo-secret-{who.removeprefix('his-')}")
            response = httpx.post(f"{self.url}/auth/token", data=data, auth=auth)
        else:
            data = {"grant_type": "password", "username": who, "password": PASSWORD}
            response = httpx.post(f"{self.url}/auth/token", data=data)
        response.raise_for_status()
        self.tokens[who, scope] = response.json()["access_token"]
        return self.tokens[who, scope]

    def client(self, who: str) -> DICOMwebClient:
        return DICOMwebClient(self.dicomweb, headers={"Authorization": f"Bearer {self.token(who)}"})

    def get(self, path: str, who: str = "his-jhzx", **kwargs) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token(who)}", **kwargs.pop("headers", {})}
        return httpx.get(f"{self.dicomweb}{path}", headers=headers, timeout=60, **kwargs)


@contextmanager
def start_gateway(
    tmp: Path,
    demo_sqlite: Path,
    object_store_url: str | None = None,
    *,
    database_url: str | None = None,
    **settings: Any,
) -> Iterator[Gateway]:
    """On a copy of the demo SQLite database, or on ``database_url`` (the demo alliance is
    imported there)."""
    if database_url is None:
        node = start_demo_node(tmp, demo_sqlite, object_store_url)
    else:
        node = start_node(
            tmp / "node", database_url, object_store_url or (tmp / "objects").as_uri()
        )
    port = free_port()
    # As behind a proxy: links are built from the configured public address, because some
    # clients (dicomweb-client) send a Host header without the port.
    node.platform.settings.public_url = f"http://127.0.0.1:{port}"
    for name, value in settings.items():
        setattr(node.platform.settings, name, value)
    server = uvicorn.Server(
        uvicorn.Config(create_app(node.platform), host="127.0.0.1", port=port, log_config=None)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for_port(port, 30)
    try:
        yield Gateway(node, f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        thread.join(10)
        stop_node(node)


@pytest.fixture
def gateway(tmp_path: Path, demo_sqlite: Path) -> Iterator[Gateway]:
    with start_gateway(tmp_path, demo_sqlite) as running:
        yield running


def seed(gateway: Gateway, *files: Path, org: str = "tx-wsy", ae: str = "TX_CT1") -> None:
    """Store instances as if the clinic's modality had sent them (the C-STORE ingest path)."""
    platform = gateway.node.platform
    for path in files:
        ingest_file(platform.sessions, platform.blobs, path, Sender(org, ae))


def uid(document: dict, tag: str) -> str:
    return document[tag]["Value"][0]


def multipart(bodies: list[tuple[str, bytes]], boundary: str | None = None) -> tuple[str, bytes]:
    """A STOW-RS request body: ``(content type, header)`` and the bytes."""
    boundary = boundary or uuid.uuid4().hex
    body = b"".join(
        f"--{boundary}\r\nContent-Type: {kind}\r\n\r\n".encode() + data + b"\r\n"
        for kind, data in bodies
    )
    return (
        f'multipart/related; type="application/dicom"; boundary="{boundary}"',
        body + f"--{boundary}--\r\n".encode(),
    )


def parts(answer: httpx.Response) -> list[bytes]:
    """The bodies of a complete ``multipart/related`` answer (its closing boundary checked)."""
    boundary = answer.headers["content-type"].split("boundary=")[1].strip('"').encode()
    body = answer.content
    assert body.endswith(b"--" + boundary + b"--\r\n"), "the body was cut off"
    chunks = body[: -len(boundary) - 6].split(b"--" + boundary + b"\r\n")[1:]
    return [chunk.split(b"\r\n\r\n", 1)[1][:-2] for chunk in chunks]


def strict_json(text: str) -> object:
    """JSON as a browser parses it: NaN and Infinity are not JSON."""

    def refuse(constant: str) -> object:
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)
