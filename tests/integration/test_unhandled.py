"""An error no handler expected: the client still gets its protocol's 500 body on a connection
that stays open, and the log names the error's type and place but never its message."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator

import pytest
import uvicorn
from fastapi import FastAPI

from gateway.unhandled import AnswerUnhandled
from tests.integration.fhir.test_bad_input import _read_response
from tests.servers import free_port, wait_for_port

SECRET = "张三 330702198001011234"


@pytest.fixture
def server() -> Iterator[int]:
    app = FastAPI()

    @app.get("/fhir/Patient/boom")
    async def fhir_boom() -> None:
        raise RuntimeError(f"could not index {SECRET}")

    @app.get("/other/boom")
    async def other_boom() -> None:
        raise KeyError(SECRET)

    @app.get("/fhir/metadata")
    async def fine() -> dict:
        return {"resourceType": "CapabilityStatement"}

    app.add_middleware(AnswerUnhandled, fhir_prefix="/fhir")
    port = free_port()
    running = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None))
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    wait_for_port(port, 30)
    yield port
    running.should_exit = True
    thread.join(10)


def test_an_unexpected_error_is_a_500_outcome_on_a_kept_connection(server: int, caplog):
    caplog.set_level(logging.ERROR, logger="yilian.http")
    answers = []
    with socket.create_connection(("127.0.0.1", server), timeout=30) as conn:
        for path in ("/fhir/Patient/boom", "/other/boom", "/fhir/metadata"):
            conn.sendall(f"GET {path} HTTP/1.1\r\nHost: test\r\n\r\n".encode())
            answers.append(_read_response(conn))  # all three on the one connection
    fhir, other, after = answers
    assert fhir.startswith(b"HTTP/1.1 500")
    assert b'"resourceType":"OperationOutcome"' in fhir
    assert other.startswith(b"HTTP/1.1 500")
    assert b'"detail"' in other
    assert after.startswith(b"HTTP/1.1 200")
    assert all(b"connection: close" not in a.lower() for a in answers)
    logged = [r.__dict__ for r in caplog.records if r.name == "yilian.http"]
    assert [r["error"] for r in logged] == ["RuntimeError", "KeyError"]
    assert all(SECRET not in str(r) for r in logged)
