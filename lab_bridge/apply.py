"""Write what a message maps to, in the caller's transaction, the way every service writes
FHIR: validated with ``fhir_profiles`` (base R4 and the profiles a resource claims), indexed
with its search values, kept by ``storage.fhir.store`` (versions; subscriptions told).

Each draft updates the resource the lab already keeps under its identifier (a new version
only if something changed) or creates it.  A patient the alliance already knows under one of
the message's identifiers (any member's record the lab may see) is referred to, not copied.
A result or report whose placer order number (电子申请单号) names an order the lab may see
answers it (``basedOn``), which is what lets the ordering clinic see it.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from fhir_profiles.search_values import extract
from fhir_profiles.validation import validate
from lab_bridge.errors import ContentError
from lab_bridge.identifiers import APPLICATION_NUMBER
from lab_bridge.mapping.drafts import Draft, Mapped
from storage.fhir import StoredResource, by_identifier, by_identifiers, index_rows, new_id
from storage.fhir import store as fhir_store
from storage.policy import fhir_viewer


@dataclass(frozen=True, slots=True)
class Critical:
    """A critical result as stored, and the organization that must be told: the one that
    ordered, else the one the patient belongs to, else the lab itself."""

    result: StoredResource
    recipient: str


@dataclass(frozen=True, slots=True)
class Applied:
    written: list[str]  # Type/id of every resource the message wrote or referred to
    critical: list[Critical]


def apply(session: Session, mapped: Mapped, org: str) -> Applied:
    viewer = fhir_viewer(session, org)
    drafts = sorted(mapped.drafts, key=lambda d: _ORDER[d.resource["resourceType"]])
    # What exists already, in three queries: the lab's own resources, the patients the
    # alliance knows, the orders answered.
    owned = by_identifiers(
        session, [(d.resource["resourceType"], *d.identifier) for d in drafts], owner_org_id=org
    )
    patients = [d for d in drafts if d.resource["resourceType"] == "Patient" and not d.own_record]
    known = by_identifiers(
        session, [("Patient", *i) for d in patients for i in d.known_as], viewer=viewer
    )
    numbers = {d.order_number for d in drafts if d.order_number}
    orders = by_identifiers(
        session, [("ServiceRequest", APPLICATION_NUMBER, n) for n in numbers], viewer=viewer
    )
    ids: dict[str, str] = {}
    owners: dict[str, str | None] = {}  # patient draft key -> the organization it belongs to
    written: list[str] = []
    critical: list[Critical] = []
    # What is referred to first: patients, orders, specimens, results, then the reports.
    for draft in drafts:
        resource_type = draft.resource["resourceType"]
        patient = next(
            (known[k] for i in draft.known_as if (k := ("Patient", *i)) in known), None
        ) if draft in patients else None  # fmt: skip
        if patient is not None:
            ids[draft.key], owners[draft.key] = patient.id, patient.owner_org_id
            written.append(f"Patient/{patient.id}")
            continue
        resource = _resolved(draft.resource, ids)
        order = orders.get(("ServiceRequest", APPLICATION_NUMBER, draft.order_number or ""))
        if order is not None:
            reference = {"reference": f"ServiceRequest/{order.id}"}
            resource["request" if resource_type == "Specimen" else "basedOn"] = [reference]
        key = (resource_type, *draft.identifier)
        stored, changed = _upsert(session, draft, resource, org, owned.get(key))
        owned[key] = stored  # a second draft of the same resource updates this one
        if draft.replaces:
            stored, prior = _merge(session, stored, draft, org)
            written.append(f"Patient/{prior}")
        ids[draft.key] = stored.id
        owners.setdefault(draft.key, org)
        written.append(f"{resource_type}/{stored.id}")
        if draft.critical and changed and stored.content is not None:
            subject = draft.resource["subject"]["reference"].removeprefix("draft:")
            recipient = (order.owner_org_id if order else None) or owners.get(subject) or org
            critical.append(Critical(stored, recipient))
    return Applied(written, critical)


def _resolved(resource: dict[str, Any], ids: dict[str, str]) -> dict[str, Any]:
    """A copy with ``draft:KEY`` references pointing at the stored resources."""
    result = copy.deepcopy(resource)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            reference = node.get("reference")
            if isinstance(reference, str) and reference.startswith("draft:"):
                key = reference.removeprefix("draft:")
                node["reference"] = f"{_TYPES[key.split(':')[0]]}/{ids[key]}"
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(result)
    return result


_ORDER = {"Patient": 0, "ServiceRequest": 1, "Specimen": 2, "Observation": 3,
          "DiagnosticReport": 4}  # fmt: skip
# Draft key prefixes -> the resource types they are.
_TYPES = {"patient": "Patient", "order": "ServiceRequest", "report": "DiagnosticReport",
          "result": "Observation", "specimen": "Specimen"}  # fmt: skip


def _upsert(
    session: Session,
    draft: Draft,
    resource: dict[str, Any],
    org: str,
    current: StoredResource | None,
) -> tuple[StoredResource, bool]:
    """``current`` (the lab's resource under the draft's identifier) updated, or a new one;
    the stored resource, and whether this wrote a new version."""
    resource["id"] = current.id if current is not None else new_id()
    problems = validate(resource)
    if problems:
        first = problems[0]
        reason = f"maps to an invalid {first.expression}: {first.message}"
        raise ContentError(draft.where, 207, reason)
    if current is not None and _same(current.content, resource):
        return current, False
    return keep(session, resource, org, new=current is None), True


def _merge(
    session: Session, survivor: StoredResource, draft: Draft, org: str
) -> tuple[StoredResource, str]:
    """A40: the sender's record of a replaced patient becomes inactive and ``replaced-by`` the
    survivor, which ``replaces`` it; the survivor as stored after, and the replaced id."""
    for system, value in draft.replaces:
        prior = by_identifier(session, "Patient", system, value, owner_org_id=org)
        if prior is not None and prior.id != survivor.id and prior.content is not None:
            break
    else:
        raise ContentError("MRG[1]-1", 204, "the patient to merge is not known to this sender")
    assert survivor.content is not None
    for current, link, extra in (
        (prior, {"other": {"reference": f"Patient/{survivor.id}"}, "type": "replaced-by"},
         {"active": False}),
        (survivor, {"other": {"reference": f"Patient/{prior.id}"}, "type": "replaces"}, {}),
    ):  # fmt: skip
        content = {k: v for k, v in (current.content or {}).items() if k != "meta"} | extra
        if link not in content.get("link", []):
            content["link"] = [*content.get("link", []), link]
        problems = validate(content)
        if problems:
            raise ContentError("MRG[1]", 207, f"merge makes an invalid {problems[0].expression}")
        stored = keep(session, content, org)
    return stored, prior.id


def keep(
    session: Session, resource: dict[str, Any], org: str, *, new: bool = False
) -> StoredResource:
    """Store a validated resource of the sender's organization with its index rows."""
    rows = index_rows(resource, extract(resource))
    return fhir_store.put(session, resource, org, index=rows, new=new)


def _same(stored: dict[str, Any] | None, resource: dict[str, Any]) -> bool:
    """Equal but for the store's ``meta`` (a re-sent message writes no new version)."""
    if stored is None:
        return False
    return {k: v for k, v in stored.items() if k != "meta"} == {
        k: v for k, v in resource.items() if k != "meta"
    }
