"""Worker side of lab turnaround: every write of a lab order, a specimen of an order or a
report answering one (from the lab bridge or the FHIR API alike) enqueues ``lab.turnaround``
(a ``yilian.fhir_listeners`` entry), and the worker notes its milestones
(:mod:`storage.clinical.lab_turnaround`)."""

from __future__ import annotations

from typing import Any

from lab_bridge.orders_out import is_lab_order
from storage import transaction
from storage.clinical.lab_turnaround import note
from storage.fhir import store as fhir_store
from storage.platform import Platform


class _Milestones:
    max_attempts = 10

    def wants(self, resource: dict[str, Any]) -> bool:
        kind = resource.get("resourceType")
        if kind == "Specimen":
            return bool(resource.get("request"))
        if kind == "DiagnosticReport":
            return bool(resource.get("basedOn"))
        return is_lab_order(resource)


MILESTONES = _Milestones()


def note_milestones(platform: Platform, payload: dict[str, Any]) -> None:
    with transaction(platform.sessions) as session:
        stored = fhir_store.vread(session, payload["type"], payload["id"], payload["version"])
        if stored is not None and stored.content is not None:
            note(session, stored.content, stored.owner_org_id)
