"""``/health`` says a process is ready only when every service it runs takes work: the moment it
first answers 200, a modality's association and a LIS message are taken without a retry; while a
service is still starting, it answers 503 and names it."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from hl7.client import MLLPClient
from pynetdicom import AE
from pynetdicom.sop_class import Verification

from gateway.app import create_app
from storage import Platform, open_platform
from storage.settings import Settings
from tests.integration.test_serve import ack_fields, oru, start, wait_until_ready

ALL_UP = {"http": "up", "dicom": "up", "mllp": "up", "worker": "up"}


def test_the_first_200_means_dicom_and_mllp_take_work_at_once(tmp_path: Path) -> None:
    running = start(tmp_path)
    try:
        *before, ready = wait_until_ready(running)
        # From here on, no retry: each first attempt must succeed.
        ae = AE("TX_CT1")
        ae.add_requested_context(Verification)
        assoc = ae.associate("127.0.0.1", running.dicom, ae_title="YILIAN")
        assert assoc.is_established
        assert assoc.send_c_echo().Status == 0x0000
        assoc.release()
        with MLLPClient("127.0.0.1", running.mllp) as client:
            ack = ack_fields(client.send_message(oru("LIS", "JHZX", "READY-1").to_er7()))
        assert (ack["code"], ack["control_id"]) == ("AA", "READY-1")
    finally:
        running.proc.send_signal(signal.SIGTERM)
        assert running.proc.wait(30) == 0, running.log.read_text()
    assert ready is not None
    assert ready.json()["services"] == ALL_UP
    for answer in filter(None, before):  # answers while the process was starting
        body = answer.json()
        assert (answer.status_code, body["status"]) == (503, "starting"), body
        assert set(body["services"]) == set(ALL_UP)
        assert any(state == "starting" for state in body["services"].values()), body


def test_only_the_services_asked_for_are_reported(tmp_path: Path) -> None:
    running = start(tmp_path, "--only", "http", "--only", "mllp")
    try:
        *_, ready = wait_until_ready(running)
        assert ready is not None
        assert ready.json()["services"] == {"http": "up", "mllp": "up"}
    finally:
        running.proc.send_signal(signal.SIGTERM)
        assert running.proc.wait(30) == 0, running.log.read_text()


def get_health(app: FastAPI) -> httpx.Response:
    """``GET /health`` through the app's ASGI interface (no socket, no lifespan)."""

    async def get() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://yilian") as client:
            return await client.get("/health")

    return asyncio.run(get())


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    platform = open_platform(Settings(data_dir=tmp_path))
    yield platform
    platform.close()


def test_a_service_still_starting_is_named_with_503(platform: Platform) -> None:
    """The gateway's answer while the DICOM node (say) is still starting its ingest workers."""
    app = create_app(platform)
    platform.readiness.expect(["http", "dicom", "mllp", "worker"])
    for service in ("http", "mllp", "worker"):
        platform.readiness.up(service)

    starting = get_health(app)
    assert starting.status_code == 503
    assert starting.json() == {
        "status": "starting",
        "checks": {"database": "ok", "object_store": "ok"},
        "services": {**ALL_UP, "dicom": "starting"},
    }

    platform.readiness.up("dicom")
    ready = get_health(app)
    assert ready.status_code == 200
    assert ready.json() == {**starting.json(), "status": "ok", "services": ALL_UP}
