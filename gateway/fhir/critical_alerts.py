"""Critical alerts (危急值 and critical findings) in the worker: ``critical.deadline`` — an
alert still open at its deadline escalates, first to the receiving organization's head (负责人),
then back to the centre that raised it, and its Communication says so (a note, and the new
recipient).  The alert's operations are ``$acknowledge``, ``$chain`` and ``$critical-figures``
in :mod:`gateway.fhir.operations`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from gateway.fhir import storing
from storage.clinical.critical_alerts import (
    escalate,
    escalated_to,
)
from storage.db import transaction
from storage.fhir import instant
from storage.fhir import store as fhir_store
from storage.platform import Platform
from storage.registry import heads_of

# The people of the alliance file (``users``), by username.
USERS = "urn:yilian:user"


def on_deadline(platform: Platform, payload: dict[str, Any]) -> None:
    """Worker handler for ``critical.deadline``: escalate an alert still open at its level."""
    deadline = timedelta(minutes=float(payload.get("minutes", 15)))
    with transaction(platform.sessions) as session:
        alert = escalate(session, payload["alert"], int(payload["level"]), deadline)
        if alert is None:
            return
        current = fhir_store.read(session, "Communication", alert.id)
        if current is None or current.content is None:
            return
        told = alert.recipient_org_id if alert.level == 1 else alert.source_org_id
        heads = heads_of(session, told) if alert.level == 1 else []
        content = {k: v for k, v in current.content.items() if k != "meta"}
        recipients = content.get("recipient", [])
        targets = [{"reference": f"Organization/{told}"}] + [
            {"type": "Practitioner", "identifier": {"system": USERS, "value": head.username},
             "display": head.display_name}
            for head in heads
        ]  # fmt: skip
        recipients = [*recipients, *(t for t in targets if t not in recipients)]
        text = f"超时未确认，已升级至{escalated_to(alert.level, heads)}"
        note = {"time": instant(datetime.now(UTC)), "text": text}
        content |= {"recipient": recipients, "note": [*content.get("note", []), note]}
        storing.store(session, content, current.owner_org_id)
