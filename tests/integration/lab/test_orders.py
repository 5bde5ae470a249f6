"""Commissioned lab orders out: a clinic's FHIR order for a lab test goes to the lab centre's
LIS as OML^O21 (or ORM^O01, as the LIS is configured) over MLLP (a LIS on a real socket,
answering with ACKs built by hl7apy), retried from the outbox until it is acknowledged; the
order's specimen and its turnaround as the clinic sees them."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.core import Message
from hl7apy.parser import parse_message
from sqlalchemy import select, update

from storage import transaction
from storage.models import MllpPeer, OutboxEvent
from tests.integration.lab.conftest import ID_NUMBER, NAME, Lab, oru
from tests.servers import drain_outbox

LAB = "http://yilian.example/fhir/CodeSystem/exam-category"


class Lis:
    """The lab centre's LIS: keeps what it receives, answers each with the next code."""

    def __init__(self, port: int = 0) -> None:
        self.received: list[str] = []
        self.answers: list[str] = []
        self.server = socket.create_server(("127.0.0.1", port))
        self.port = self.server.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            with connection:
                data = b""
                while b"\x1c\r" not in data:
                    chunk = connection.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                raw = data.strip(b"\x0b\x1c\r")
                text = raw.decode("gb18030" if b"GB 18030" in raw else "utf-8")
                self.received.append(text)
                incoming = parse_message(text, find_groups=False,
                                         validation_level=VALIDATION_LEVEL.TOLERANT)  # fmt: skip
                ack = Message("ACK", version="2.5", validation_level=VALIDATION_LEVEL.TOLERANT)
                ack.msh.msh_3, ack.msh.msh_4 = "LIS", "JHZX"
                ack.msh.msh_9 = "ACK^O21^ACK"
                ack.msh.msh_10 = f"LIS-{len(self.received)}"
                ack.msa.msa_1 = self.answers.pop(0) if self.answers else "AA"
                ack.msa.msa_2 = incoming.msh.msh_10.to_er7()
                connection.sendall(b"\x0b" + ack.to_er7().encode() + b"\x1c\r")

    def close(self) -> None:
        if self.server.fileno() >= 0:
            self.server.shutdown(socket.SHUT_RDWR)  # wakes the accept(); closing does not
            self.server.close()
        self.thread.join(5)

    def segments(self, index: int = -1) -> dict[str, list[str]]:
        return {line.split("|")[0]: line.split("|") for line in self.received[index].split("\r")}


@pytest.fixture
def lis(lab: Lab) -> Iterator[Lis]:
    running = Lis()
    with transaction(lab.platform.sessions) as session:
        session.execute(update(MllpPeer).where(MllpPeer.id == "jhzx-lis").values(port=running.port))
    yield running
    running.close()


def run_worker(lab: Lab) -> None:
    drain_outbox(lab.platform)


def events(lab: Lab) -> list[tuple[str, int]]:
    with transaction(lab.platform.sessions) as session:
        rows = session.scalars(select(OutboxEvent).where(OutboxEvent.topic == "lab.order"))
        return [(row.state, row.attempts) for row in rows]


def order(lab: Lab, category: str = "lab", status: str = "active", oid: str = "") -> dict:
    token = lab.gateway.token("his-tx-wsy")
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"}
    patient = httpx.post(f"{lab.gateway.url}/fhir/Patient", headers=headers, json={
        "resourceType": "Patient",
        "identifier": [{"system": "urn:yilian:patient-id:tx-wsy", "value": "TX000123"},
                       {"system": "urn:oid:2.16.156.10011.1.3", "value": ID_NUMBER}],
        "name": [{"text": NAME}], "gender": "male", "birthDate": "1980-01-01",
    }).json()  # fmt: skip
    resource = {
        "resourceType": "ServiceRequest", "status": status, "intent": "order",
        "priority": "stat",
        "identifier": [{"system": "urn:oid:2.16.156.10011.1.24", "value": "SQ20261201007"}],
        "category": [{"coding": [{"system": LAB, "code": category}]}],
        "code": {"coding": [{"system": "urn:his:tx-wsy", "code": "BMP"}], "text": "基础代谢组合"},
        "subject": {"reference": f"Patient/{patient['id']}"},
        "performer": [{"reference": "Organization/jhzx"}],
        "authoredOn": "2026-12-01T08:30:00+08:00",
    }  # fmt: skip
    if oid:
        resource["id"] = oid
        answer = httpx.put(f"{lab.gateway.url}/fhir/ServiceRequest/{oid}", headers=headers,
                           json=resource)  # fmt: skip
    else:
        answer = httpx.post(f"{lab.gateway.url}/fhir/ServiceRequest", headers=headers,
                            json=resource)  # fmt: skip
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


def test_a_lab_order_reaches_the_lis_as_oml_o21(lab: Lab, lis: Lis):
    placed = order(lab)
    order(lab, category="imaging")  # an imaging order is not the LIS's
    run_worker(lab)
    assert len(lis.received) == 1
    message = lis.segments()
    assert message["MSH"][8] == "OML^O21^OML_O21"
    assert message["MSH"][4:6] == ["LIS", "JHZX"]
    assert message["MSH"][17] == "UNICODE UTF-8"
    assert message["PID"][3].split("~") == ["TX000123^^^tx-wsy^PI", f"{ID_NUMBER}^^^^ID"]
    assert (message["PID"][5], message["PID"][7], message["PID"][8]) == (NAME, "19800101", "M")
    assert (message["ORC"][1], message["ORC"][2]) == ("NW", "SQ20261201007")
    assert message["TQ1"][9] == "S"
    assert message["OBR"][4] == "BMP^基础代谢组合^L"
    assert events(lab) == [("done", 1)]

    # The clinic cancels while the LIS is down: retried until the LIS is back.
    lis.close()
    order(lab, status="revoked", oid=placed["id"])
    run_worker(lab)
    assert events(lab) == [("done", 1), ("pending", 1)]
    back = Lis(lis.port)
    try:
        time.sleep(2.5)  # the first retry's backoff
        run_worker(lab)
        assert back.segments()["ORC"][1] == "CA"
        assert events(lab) == [("done", 1), ("done", 2)]
    finally:
        back.close()


def test_a_lis_configured_for_orm_o01_gets_the_order_as_orm_o01(lab: Lab, lis: Lis):
    with transaction(lab.platform.sessions) as session:
        session.execute(
            update(MllpPeer)
            .where(MllpPeer.id == "jhzx-lis")
            .values(order_message="ORM^O01", encoding="gb18030")
        )
    order(lab)
    run_worker(lab)
    message = lis.segments()
    assert (message["MSH"][8], message["MSH"][11]) == ("ORM^O01", "2.3.1")
    assert message["MSH"][17] == "GB 18030-2000"
    assert "TQ1" not in message
    assert (message["ORC"][1], message["ORC"][2], message["ORC"][7]) == (
        "NW",
        "SQ20261201007",
        "^^^^^S",
    )
    assert message["OBR"][4] == "BMP^基础代谢组合^L"
    assert message["OBR"][27] == "^^^^^S"
    assert message["PID"][5] == NAME  # sent in GB18030, read back as such
    assert events(lab) == [("done", 1)]


def test_the_lis_errors_are_retried_and_its_rejections_are_final(lab: Lab, lis: Lis):
    lis.answers = ["AE", "AR"]
    order(lab)
    run_worker(lab)
    assert events(lab) == [("pending", 1)]
    time.sleep(2.5)
    run_worker(lab)
    assert events(lab) == [("dead", 2)]
    assert len(lis.received) == 2
    first, second = (lis.segments(i)["MSH"][9] for i in (0, 1))
    assert first == second  # the same control id: the LIS can tell a resend


def oml(control_id: str, control: str, *, rejected: str = "", received: str = "") -> Message:
    """汤溪卫生院's HIS places (or changes) a lab order as OML^O21."""
    msg = Message("OML_O21", version="2.5", validation_level=VALIDATION_LEVEL.TOLERANT)
    msg.msh.msh_3, msg.msh.msh_4 = "HIS", "TX_WSY"
    msg.msh.msh_9 = "OML^O21^OML_O21"
    msg.msh.msh_10 = control_id
    msg.msh.msh_11 = "P"
    msg.add_segment("PID")
    msg.pid.pid_3 = "TX000123^^^tx-wsy^PI"
    msg.pid.pid_5 = NAME
    msg.pid.pid_8 = "M"
    orc = msg.add_segment("ORC")
    orc.orc_1, orc.orc_2, orc.orc_9 = control, "SQ20261201009", "20261201083000"
    tq1 = msg.add_segment("TQ1")
    tq1.tq1_9 = "S"
    obr = msg.add_segment("OBR")
    obr.obr_2, obr.obr_4 = "SQ20261201009", "BMP^基础代谢组合^L"
    spm = msg.add_segment("SPM")
    spm.spm_2, spm.spm_4, spm.spm_17 = "TX-B0009", "SER^血清^HL70487", "20261201084000"
    if received:
        spm.spm_18 = received
    if rejected:
        spm.spm_21 = f"RH^{rejected}^HL70490"
    return msg


def test_a_clinic_his_order_in_hl7_reaches_the_lab_and_its_specimen_is_tracked(lab: Lab, lis: Lis):
    assert lab.send(oml("HIS-0001", "NW"))["MSA"][1] == "AA"
    found = lab.fhir("/ServiceRequest?identifier=urn:oid:2.16.156.10011.1.24|SQ20261201009",
                     who="his-tx-wsy")  # fmt: skip
    assert found["total"] == 1
    order = found["entry"][0]["resource"]
    assert (order["status"], order["priority"]) == ("active", "stat")
    assert order["performer"] == [{"reference": "Organization/jhzx"}]  # its lab centre
    assert order["requester"] == {"reference": "Organization/tx-wsy"}
    assert order["authoredOn"] == "2026-12-01T08:30:00+08:00"
    run_worker(lab)
    assert lis.segments()["ORC"][1:3] == ["NW", "SQ20261201009"]  # passed on to the LIS

    # The lab received the specimen, then rejected it (溶血); the clinic sees each step.
    assert lab.send(oml("HIS-0002", "SC", received="20261201100000"))["MSA"][1] == "AA"
    assert lab.send(oml("HIS-0003", "SC", rejected="溶血"))["MSA"][1] == "AA"
    specimen = lab.fhir("/Specimen?identifier=urn:yilian:specimen-id:tx-wsy|TX-B0009",
                        who="his-tx-wsy")["entry"][0]["resource"]  # fmt: skip
    assert specimen["status"] == "unsatisfactory"
    assert specimen["note"] == [{"text": "拒收：溶血"}]
    assert specimen["request"] == [{"reference": f"ServiceRequest/{order['id']}"}]
    versions = lab.fhir(f"/Specimen/{specimen['id']}/_history", who="his-tx-wsy")["entry"]
    assert [v["resource"]["status"] for v in versions] == [
        "unsatisfactory",
        "available",
        "available",
    ]

    run_worker(lab)
    seen = lab.fhir(f"/ServiceRequest/{order['id']}/$turnaround", who="his-tx-wsy")
    assert (seen["stage"], seen["rejectionReason"]) == ("rejected", "拒收：溶血")
    assert seen["specimen"] == f"Specimen/{specimen['id']}"
    assert seen["minutes"]["preAnalytical"] == 80.0  # collected 08:40, received 10:00

    assert lab.send(oml("HIS-0004", "CA"))["MSA"][1] == "AA"
    assert lab.fhir(f"/ServiceRequest/{order['id']}", who="his-tx-wsy")["status"] == "revoked"
    run_worker(lab)
    assert lis.segments()["ORC"][1] == "CA"


def test_the_clinic_sees_its_orders_turnaround_from_collection_to_report(lab: Lab, lis: Lis):
    assert lab.send(oml("HIS-0101", "NW"))["MSA"][1] == "AA"  # collected 08:40
    run_worker(lab)  # delivered to the LIS: 送检
    assert lab.send(oml("HIS-0102", "SC", received="20261201085000"))["MSA"][1] == "AA"
    result = ("NM", "K", "钾", "4.1", "mmol/L", "3.5-5.3", "N", "F")
    report = oru("LIS-0101", [result], order_number="SQ20261201009", specimen=None)
    assert lab.send(report)["MSA"][1] == "AA"  # reported 09:00
    run_worker(lab)
    order = lab.fhir("/ServiceRequest?identifier=urn:oid:2.16.156.10011.1.24|SQ20261201009",
                     who="his-tx-wsy")["entry"][0]["resource"]  # fmt: skip

    seen = lab.fhir(f"/ServiceRequest/{order['id']}/$turnaround", who="his-tx-wsy")
    assert seen["stage"] == "reported"
    milestones = seen["milestones"]
    assert {k: v for k, v in milestones.items() if k != "sent"} == {
        "ordered": "2026-12-01T00:30:00.000Z",
        "collected": "2026-12-01T00:40:00.000Z",
        "received": "2026-12-01T00:50:00.000Z",
        "reported": "2026-12-01T01:00:00.000Z",
    }
    assert datetime.fromisoformat(milestones["sent"]) > datetime.now(UTC) - timedelta(minutes=5)
    assert seen["minutes"] == {
        "preAnalytical": 10.0,
        "intraLaboratory": 10.0,
        "collectionToReport": 20.0,
        "orderToReport": 30.0,
    }
    # Another clinic does not see it; the lead hospital counts it among its members'.
    other = httpx.get(
        f"{lab.gateway.url}/fhir/ServiceRequest/{order['id']}/$turnaround",
        headers={"Authorization": f"Bearer {lab.gateway.token('his-fc-wsy')}"},
    )
    assert other.status_code == 404
    assert other.json()["resourceType"] == "OperationOutcome"
    figures = lab.fhir("/ServiceRequest/$turnaround-figures?since=2026-12-01&until=2026-12-02")
    assert (figures["orders"], figures["rejected"], figures["rejectionRate"]) == (1, 0, 0.0)
    assert figures["intervals"]["intraLaboratory"] == {
        "count": 1,
        "medianMinutes": 10.0,
        "p90Minutes": 10.0,
    }
    elsewhere = lab.fhir("/ServiceRequest/$turnaround-figures", who="his-fc-wsy")
    assert elsewhere["orders"] == 0
