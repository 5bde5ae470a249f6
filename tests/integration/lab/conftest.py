"""The lab bridge's MLLP listener (the real asyncio server on a socket) beside the HTTP gateway,
over one demo database, and ORU^R01 messages built with hl7apy as a Chinese LIS sends them."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hl7.client import MLLPClient
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.core import Message
from sqlalchemy import select

from lab_bridge import service
from storage import transaction
from storage.models import Hl7Message
from storage.platform import Platform
from tests.integration.dicomweb.conftest import Gateway, start_gateway
from tests.integration.fhir.test_subscriptions import receiver  # noqa: F401 (a fixture)
from tests.servers import free_port, wait_for_port

ID_NUMBER = "330702198001011232"
NAME = "张三丰"


@dataclass
class Lab:
    gateway: Gateway
    port: int

    @property
    def platform(self) -> Platform:
        return self.gateway.node.platform

    def send(self, message: Message | str | bytes, encoding: str = "utf-8") -> dict[str, list[str]]:
        """Send over MLLP; the ACK's segments by name (fields split on |)."""
        raw = message.to_er7() if isinstance(message, Message) else message
        data = raw.encode(encoding) if isinstance(raw, str) else raw
        with MLLPClient("127.0.0.1", self.port, encoding=encoding) as client:
            answer = client.send_message(data)
        text = answer.strip(b"\x0b\x1c\r").decode(encoding)
        return {line.split("|")[0]: line.split("|") for line in text.split("\r") if line}

    def messages(self) -> list[Hl7Message]:
        with transaction(self.platform.sessions) as session:
            return list(session.scalars(select(Hl7Message).order_by(Hl7Message.id)))

    def fhir(self, path: str, who: str = "his-jhzx") -> Any:
        import httpx

        headers = {"Authorization": f"Bearer {self.gateway.token(who)}"}
        return httpx.get(f"{self.gateway.url}/fhir{path}", headers=headers, timeout=30).json()


@contextmanager
def mllp_listener(platform: Platform, prepare_processes: int = 0) -> Iterator[int]:
    """``lab_bridge.service.run`` on its own event loop and a free loopback port; messages
    prepared in its threads unless ``prepare_processes`` worker processes are asked for."""
    port = free_port()
    platform.settings.host, platform.settings.mllp_port = "127.0.0.1", port
    platform.settings.hl7_prepare_processes = prepare_processes
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    thread = threading.Thread(
        target=loop.run_until_complete, args=(service.run(platform, stop),), daemon=True
    )
    thread.start()
    wait_for_port(port, 30)
    try:
        yield port
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(15)
        loop.close()


@pytest.fixture
def lab(tmp_path: Path, demo_sqlite: Path) -> Iterator[Lab]:
    with (
        start_gateway(tmp_path, demo_sqlite) as gateway,
        mllp_listener(gateway.node.platform) as port,
    ):
        yield Lab(gateway, port)


def oru(
    control_id: str,
    results: list[tuple[str, ...]],
    *,
    sender: tuple[str, str] = ("LIS", "JHZX"),
    version: str = "2.5",
    order_number: str = "SQ20261201001",
    filler: str = "L20261201-0001",
    status: str = "F",
    specimen: str | None = "B20261201001",
) -> Message:
    """An ORU^R01 as the lead hospital's LIS sends it: one patient (tx-wsy's patient ID and
    身份证号), one OBR, an OBX per result ``(type, code, name, value, unit, range, flag,
    status)`` and the specimen."""
    msg = Message("ORU_R01", version=version, validation_level=VALIDATION_LEVEL.TOLERANT)
    msg.msh.msh_3, msg.msh.msh_4 = sender
    msg.msh.msh_5, msg.msh.msh_6 = "YILIAN", "JHZX"
    msg.msh.msh_7 = "20261201090500"
    msg.msh.msh_9 = "ORU^R01^ORU_R01" if version >= "2.5" else "ORU^R01"
    msg.msh.msh_10 = control_id
    msg.msh.msh_11 = "P"
    msg.add_segment("PID")
    msg.pid.pid_1 = "1"
    msg.pid.pid_3 = f"TX000123^^^tx-wsy^PI~{ID_NUMBER}^^^^ID"
    msg.pid.pid_5 = NAME
    msg.pid.pid_7 = "19800101"
    msg.pid.pid_8 = "M"
    msg.add_segment("OBR")
    msg.obr.obr_1 = "1"
    msg.obr.obr_2 = order_number
    msg.obr.obr_3 = filler
    msg.obr.obr_4 = "BMP^基础代谢组合^L"
    msg.obr.obr_7 = "20261201073000"
    msg.obr.obr_22 = "20261201090000"
    msg.obr.obr_25 = status
    for index, (kind, code, name, value, unit, limits, flag, state) in enumerate(results, 1):
        obx = msg.add_segment("OBX")
        obx.obx_1 = str(index)
        obx.obx_2 = kind
        obx.obx_3 = f"{code}^{name}^L"
        obx.obx_5 = value
        obx.obx_6 = unit
        obx.obx_7 = limits
        obx.obx_8 = flag
        obx.obx_11 = state
        obx.obx_14 = "20261201085000"
    if specimen and version >= "2.5":
        spm = msg.add_segment("SPM")
        spm.spm_1 = "1"
        spm.spm_2 = specimen
        spm.spm_4 = "BLD^全血^HL70487"
        spm.spm_17 = "20261201073000"
        spm.spm_18 = "20261201075000"
    return msg


POTASSIUM = ("NM", "K", "钾", "6.8", "mmol/L", "3.5-5.3", "HH", "F")
SODIUM = ("NM", "NA", "钠", "140", "mmol/L", "137-147", "N", "F")
NOTE = ("ST", "NOTE", "备注", "轻度溶血", "", "", "", "F")
