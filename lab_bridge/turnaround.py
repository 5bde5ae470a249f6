"""Worker side of lab turnaround: every write of a lab order, a specimen of an order or a
report answering one (from the lab bridge or the FHIR API alike) enqueues ``lab.turnaround``
(a ``yilian.fhir_listeners`` entry), and the worker notes its milestones
(:mod:`storage.clinical.lab_turnaround`) — not those of a specimen of other orders only (a
pathology specimen: :mod:`gateway.workflow.specimens` keeps its own steps)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from lab_bridge.orders_out import is_lab_order
from storage.clinical.lab_turnaround import note
from storage.fhir import store as fhir_store
from storage.platform import Platform
from storage.worker import InBatch


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


def _note(_platform: Platform, session: Session, payload: dict[str, Any]) -> None:
    stored = fhir_store.vread(session, payload["type"], payload["id"], payload["version"])
    if (
        stored is not None
        and stored.content is not None
        and not _of_other_orders(session, stored.content)
    ):
        note(session, stored.content, stored.owner_org_id)


# ``lab.turnaround``: the milestones are written in the event's completing transaction.
note_milestones = InBatch(_note)


def _of_other_orders(session: Session, resource: dict[str, Any]) -> bool:
    """A specimen whose orders are all known and none a lab order (a pathology specimen):
    not a lab milestone."""
    if resource.get("resourceType") != "Specimen":
        return False
    orders = [
        fhir_store.read(session, "ServiceRequest", str(r.get("reference", "")).split("/", 1)[1])
        for r in resource.get("request", [])
        if str(r.get("reference", "")).startswith("ServiceRequest/")
    ]
    return bool(orders) and all(
        o is not None and o.content is not None and not is_lab_order(o.content) for o in orders
    )
