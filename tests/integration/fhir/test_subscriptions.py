"""R4 rest-hook Subscriptions: a matching write reaches the endpoint with its header and
payload; others do not; a failing endpoint is retried later and never holds up the rest."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from sqlalchemy import select
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from storage.db import reading
from storage.models import OutboxEvent
from storage.platform import plugins
from storage.worker import process_batch
from tests.integration.dicomweb.conftest import Gateway
from tests.servers import free_port

FHIR_JSON = "application/fhir+json"


class Receiver(ThreadingHTTPServer):
    received: list[tuple[str, dict[str, str], bytes]]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            self.server.received.append((self.path, dict(self.headers), self.rfile.read(length)))  # type: ignore[attr-defined]
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = Receiver(("127.0.0.1", free_port()), Handler)
    server.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


def fhir(gateway: Gateway, method: str, path: str, who: str, body: dict | None = None):
    headers = {"Authorization": f"Bearer {gateway.token(who)}", "Content-Type": FHIR_JSON}
    content = json.dumps(body) if body is not None else None
    return httpx.request(method, f"{gateway.url}/fhir{path}", headers=headers, content=content)


def subscribe(
    gateway: Gateway, who: str, endpoint: str, criteria: str = "DiagnosticReport?status=final"
) -> str:
    subscription = {
        "resourceType": "Subscription",
        "status": "requested",
        "reason": "报告已出",
        "criteria": criteria,
        "channel": {
            "type": "rest-hook",
            "endpoint": endpoint,
            "payload": FHIR_JSON,
            "header": ["Authorization: Bearer clinic-secret"],
        },
    }
    response = fhir(gateway, "POST", "/Subscription", who, subscription)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def report(status: str) -> dict:
    return {
        "resourceType": "DiagnosticReport",
        "status": status,
        "code": {"text": "胸部CT平扫报告"},
        "conclusion": "双肺未见明显异常。",
    }


def run_worker(gateway: Gateway) -> None:
    handlers = plugins("yilian.outbox_handlers")
    while process_batch(gateway.node.platform, handlers):
        pass


def test_rest_hook_delivery(gateway: Gateway, receiver: Receiver):
    endpoint = f"http://127.0.0.1:{receiver.server_port}/his/notify"
    good = subscribe(gateway, "his-jhzx", endpoint)
    broken = subscribe(gateway, "his-jhzx", f"http://127.0.0.1:{free_port()}/down")
    subscribe(gateway, "his-cz-sq", endpoint + "?clinic=cz")  # may not see the lead's reports

    fhir(gateway, "POST", "/DiagnosticReport", "his-jhzx", report("preliminary"))
    run_worker(gateway)
    assert receiver.received == []  # does not match the criteria

    final = fhir(gateway, "POST", "/DiagnosticReport", "his-jhzx", report("final")).json()
    run_worker(gateway)
    assert len(receiver.received) == 1
    path, headers, body = receiver.received[0]
    assert path == "/his/notify"
    assert headers["Authorization"] == "Bearer clinic-secret"
    assert json.loads(body)["id"] == final["id"]

    def status(subscription: str) -> dict:
        parameters = fhir(gateway, "GET", f"/Subscription/{subscription}/$status", "his-jhzx")
        return {
            p["name"]: p.get("valueInteger", p.get("valueString"))
            for p in parameters.json()["parameter"]
        }

    assert status(good)["done"] == 1
    failing = status(broken)
    assert failing["pending"] == 1  # retried later, with backoff
    assert "ConnectError" in failing["last-error"]


def test_a_change_tells_the_subscriptions_on_its_type_only(gateway: Gateway, receiver: Receiver):
    """Criteria naming a bare type match every resource of it; Subscriptions on other types
    (the alliance has many), or switched off, are not told of it."""
    endpoint = f"http://127.0.0.1:{receiver.server_port}"
    subscribe(gateway, "his-jhzx", f"{endpoint}/every-report", "DiagnosticReport")
    subscribe(gateway, "his-jhzx", f"{endpoint}/final-reports")
    for n, criteria in enumerate(("Observation", "Task?status=ready", "DiagnosticReport?status=x")):
        subscribe(gateway, "his-jhzx", f"{endpoint}/other-{n}", criteria)
    stopped = subscribe(gateway, "his-jhzx", f"{endpoint}/stopped", "DiagnosticReport")
    current = fhir(gateway, "GET", f"/Subscription/{stopped}", "his-jhzx").json()
    switched = fhir(
        gateway, "PUT", f"/Subscription/{stopped}", "his-jhzx", {**current, "status": "off"}
    )
    assert switched.status_code == 200, switched.text

    fhir(gateway, "POST", "/DiagnosticReport", "his-jhzx", report("preliminary"))
    run_worker(gateway)
    assert [path for path, _, _ in receiver.received] == ["/every-report"]

    receiver.received.clear()
    fhir(gateway, "POST", "/DiagnosticReport", "his-jhzx", report("final"))
    run_worker(gateway)
    assert sorted(path for path, _, _ in receiver.received) == ["/every-report", "/final-reports"]


def test_only_changes_after_a_subscription_on_their_type_are_told(
    gateway: Gateway, receiver: Receiver
):
    """A write of a type no Subscription is on leaves the worker nothing to do; a Subscription
    is told of the changes written after it, even later in the same transaction."""
    endpoint = f"http://127.0.0.1:{receiver.server_port}/specimens"
    specimen = {"resourceType": "Specimen", "status": "available", "note": [{"text": "血清"}]}

    def changes_queued() -> list[str]:
        with reading(gateway.node.platform.sessions) as session:
            payloads = session.scalars(
                select(OutboxEvent.payload).where(OutboxEvent.topic == "fhir.changed")
            )
            return [p["id"] for p in payloads if p["type"] == "Specimen"]

    before = fhir(gateway, "POST", "/Specimen", "his-jhzx", specimen)
    assert before.status_code == 201, before.text
    assert changes_queued() == []

    subscription = {
        "resourceType": "Subscription", "status": "requested", "reason": "标本登记",
        "criteria": "Specimen",
        "channel": {"type": "rest-hook", "endpoint": endpoint, "payload": FHIR_JSON},
    }  # fmt: skip
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": resource, "request": {"method": "POST", "url": resource["resourceType"]}}
            for resource in (specimen, subscription, specimen)
        ],
    }
    answer = fhir(gateway, "POST", "", "his-jhzx", bundle)
    assert answer.status_code == 200, answer.text
    first, _, second = (e["response"]["location"].split("/")[1] for e in answer.json()["entry"])
    assert changes_queued() == [second]
    run_worker(gateway)
    assert [(path, json.loads(body)["id"]) for path, _, body in receiver.received] == [
        ("/specimens", second)
    ]
    assert first != second


def test_websocket_subscription(gateway: Gateway):
    """A clinic binds its websocket Subscription and is pinged when the lead hospital's report
    on its order is final; a report it may not see pings nobody."""
    patient = fhir(gateway, "POST", "/Patient", "his-cz-sq", {"resourceType": "Patient"}).json()
    subject = {"reference": f"Patient/{patient['id']}"}
    order = {"resourceType": "ServiceRequest", "status": "active", "intent": "order",
             "code": {"text": "心电图"}, "subject": subject}  # fmt: skip
    order_id = fhir(gateway, "POST", "/ServiceRequest", "his-cz-sq", order).json()["id"]
    mine = {"resourceType": "Subscription", "status": "requested", "reason": "报告已出",
            "criteria": "DiagnosticReport?status=final",
            "channel": {"type": "websocket"}}  # fmt: skip
    created = fhir(gateway, "POST", "/Subscription", "his-cz-sq", mine)
    assert created.status_code == 201, created.text
    subscription = created.json()["id"]
    lead_hook = subscribe(gateway, "his-jhzx", "http://127.0.0.1:9/unused")
    statement = fhir(gateway, "GET", "/metadata", "his-cz-sq").json()
    url = statement["rest"][0]["extension"][0]["valueUri"]
    assert url == f"{gateway.url.replace('http', 'ws')}/fhir/$subscription-websocket"

    with pytest.raises(InvalidStatus):
        connect(f"{url}?access_token=forged", open_timeout=10)
    with connect(f"{url}?access_token={gateway.token('his-cz-sq')}", open_timeout=10) as socket:
        socket.send(f"bind {lead_hook}")  # another organization's: not known to this one
        assert socket.recv(timeout=10).startswith("error ")
        socket.send(f"bind {subscription}")
        assert socket.recv(timeout=10) == f"bound {subscription}"

        fhir(gateway, "POST", "/DiagnosticReport", "his-jhzx", report("final"))  # not theirs
        answered = {**report("final"), "basedOn": [{"reference": f"ServiceRequest/{order_id}"}]}
        fhir(gateway, "POST", "/DiagnosticReport", "his-jhzx", answered)
        run_worker(gateway)
        assert socket.recv(timeout=10) == f"ping {subscription}"
        with pytest.raises(TimeoutError):
            socket.recv(timeout=1.5)  # one ping: the other report is not visible to the clinic
