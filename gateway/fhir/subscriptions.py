"""R4 criteria-based Subscriptions, rest-hook channel (websocket: ``websocket.py``): how a
clinic's HIS is told that a report is ready.

Every FHIR write of a type an active Subscription is on enqueues ``fhir.changed``
(``storage.fhir.store.put``).  Its handler finds the
active Subscriptions whose criteria the changed resource now matches — evaluated by the search
code, with the visibility of the organization that owns the Subscription — and enqueues one
``subscription.notify`` per match.  Each notification is its own outbox event: a failing
endpoint is retried with backoff (``NOTIFY_ATTEMPTS`` attempts: more than 24 hours with the
outbox's 1-hour cap) without delaying anyone else's.  ``GET
/fhir/Subscription/{id}/$status`` shows the delivery state.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

import httpx
from sqlalchemy.orm import Session

from gateway.errors import HttpError
from gateway.fhir import search
from gateway.workflow import reading_report
from storage.db import transaction
from storage.fhir import Criterion, Match, subscription_pings
from storage.fhir import search as fhir_search
from storage.fhir import store as fhir_store
from storage.outbox import enqueue, recent_events
from storage.platform import Platform
from storage.policy import fhir_viewer
from storage.worker import InBatch, PermanentFailure

NOTIFY_TOPIC = "subscription.notify"
NOTIFY_ATTEMPTS = 40
CHANNELS = ("rest-hook", "websocket")
TIMEOUT_SECONDS = 10.0


def _criteria(subscription: dict[str, Any]) -> tuple[str, list[tuple[str, str]]] | None:
    text = str(subscription.get("criteria", ""))
    resource_type, _, query = text.partition("?")
    return (resource_type, parse_qsl(query)) if resource_type else None


def subscribed(session: Session, payload: dict[str, Any]) -> bool:
    """Whether any active Subscription is on the changed resource's type."""
    return bool(fhir_store.subscribed_on(session, payload["type"]))


def tell_subscriptions(_platform: Platform, session: Session, payload: dict[str, Any]) -> None:
    """Enqueue a notification for every Subscription the changed resource now matches."""
    resource_type, resource_id = payload["type"], payload["id"]
    subscriptions = fhir_store.subscribed_on(session, resource_type)
    if not subscriptions:
        return  # most changes: nobody subscribes to their type, nothing more to read
    current = fhir_store.read(session, resource_type, resource_id)
    if current is not None and payload.get("version") not in (None, current.version_id):
        return  # a newer version has its own event: told once, of what is now true
    for subscription in subscriptions:
        content = subscription.content or {}
        channel = content.get("channel", {})
        wanted = _criteria(content)  # the index found a prefix: the type is checked exactly
        if channel.get("type") not in CHANNELS or wanted is None or wanted[0] != resource_type:
            continue
        try:
            query = search.parse(resource_type, wanted[1], strict=False)
        except HttpError:
            continue  # criteria that cannot be searched never match
        this_one = Criterion("_id", "token", matches=[Match(resource_id)])
        viewer = fhir_viewer(session, subscription.owner_org_id or "")
        found, _ = fhir_search.search(
            session, resource_type, [*query.criteria, this_one], viewer, count=1,
            with_total=False,
        )  # fmt: skip
        if found and channel["type"] == "websocket":
            subscription_pings.record(session, subscription.id)
        elif found:
            enqueue(
                session,
                NOTIFY_TOPIC,
                {"subscription": subscription.id, **payload},
                max_attempts=NOTIFY_ATTEMPTS,
            )


# ``fhir.changed``: the notifications are enqueued in the event's completing transaction.
on_change = InBatch(tell_subscriptions, wanted=subscribed)


def notify(platform: Platform, payload: dict[str, Any]) -> None:
    """``subscription.notify`` handler: POST to the endpoint; an error means "retry later"."""
    with transaction(platform.sessions) as session:
        subscription = fhir_store.read(session, "Subscription", payload["subscription"])
        resource = fhir_store.read(session, payload["type"], payload["id"])
    if subscription is None or subscription.deleted or subscription.content is None:
        return  # withdrawn since: nothing to deliver
    if subscription.content.get("status") not in fhir_store.SUBSCRIBED:
        return
    channel = subscription.content.get("channel", {})
    endpoint = str(channel.get("endpoint", ""))
    if not endpoint.startswith(("http://", "https://")):
        raise PermanentFailure("rest-hook endpoint is not an http(s) URL")
    headers = {}
    for line in channel.get("header", []):
        name, _, value = str(line).partition(":")
        if value:
            headers[name.strip()] = value.strip()
    body = b""
    if channel.get("payload") and resource is not None and resource.content is not None:
        headers["Content-Type"] = "application/fhir+json"
        body = json.dumps(resource.content, ensure_ascii=False).encode()
    httpx.post(endpoint, content=body, headers=headers, timeout=TIMEOUT_SECONDS).raise_for_status()
    if resource is not None and resource.resource_type == "DiagnosticReport":
        with transaction(platform.sessions) as session:
            reading_report.delivered(session, resource.content, subscription.owner_org_id)


def delivery_status(platform: Platform, subscription_id: str) -> dict[str, Any]:
    """Counts of this Subscription's notifications by state, and the last error."""
    with transaction(platform.sessions) as session:
        events = recent_events(session, NOTIFY_TOPIC)
    mine = [e for e in events if e.payload.get("subscription") == subscription_id]
    counts = {
        state: sum(1 for e in mine if e.state == state) for state in ("pending", "done", "dead")
    }
    errors = [e.last_error for e in mine if e.last_error]
    return {
        "resourceType": "Parameters",
        "parameter": [
            *({"name": state, "valueInteger": n} for state, n in counts.items()),
            *([{"name": "last-error", "valueString": errors[0]}] if errors else []),
        ],
    }
