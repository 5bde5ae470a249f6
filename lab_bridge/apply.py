"""Write what a message maps to, in the caller's transaction, the way every service writes
FHIR: validated with ``fhir_profiles`` (base R4 and the profiles a resource claims), indexed
with its search values, kept by ``storage.fhir.store`` (versions; subscriptions told).

Each draft updates the resource the lab already keeps under its identifier (a new version
only if something changed) or creates it.  A patient the alliance already knows under one of
the message's identifiers (any member's record the lab may see) is referred to, not copied.
A result or report whose placer order number (电子申请单号) names an order the lab may see
answers it (``basedOn``), which is what lets the ordering clinic see it.  A released result of
an item the lab is qualified for carries the recognition mark (:mod:`lab_bridge.marks`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from fhir_profiles.search_values import extract
from fhir_profiles.validation import validate
from lab_bridge.errors import ContentError
from lab_bridge.mapping.drafts import Draft, Mapped
from lab_bridge.marks import report_marked, result_marked
from storage.fhir import StoredResource, by_identifier, by_identifiers, index_rows, new_id
from storage.fhir import store as fhir_store
from storage.identity_numbers import APPLICATION_NUMBER
from storage.policy import Viewer, fhir_viewer


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


def apply(session: Session, mapped: Mapped, org: str, checks: Checks | None = None) -> Applied:
    """``checks``: what :func:`check` found for ``mapped`` (in a worker process); without
    them every resource is validated here."""
    viewer = _viewer(session, org)
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
    orders = answered_orders(session, mapped, viewer)
    ids: dict[str, str] = {}
    owners: dict[str, str | None] = {}  # patient draft key -> the organization it belongs to
    written: list[str] = []
    critical: list[Critical] = []
    results: dict[str, dict[str, Any]] = {}  # this message's results as stored, by reference
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
        order = orders.get(("ServiceRequest", APPLICATION_NUMBER, draft.order_number or ""))
        key = (resource_type, *draft.identifier)
        current = owned.get(key)
        resource = final_form(
            draft, ids, order.id if order else None, current.id if current else new_id()
        )
        problem = (
            checks.problems[draft.key]  # the worker validated this form (``basedOn`` or not)
            if checks is not None and (order is not None) == (draft.key in checks.ordered)
            else invalid(resource)
        )
        if problem is not None:
            raise ContentError(draft.where, 207, f"maps to an invalid {problem}")
        if resource_type == "Observation":
            resource = result_marked(session, resource, org)
        elif resource_type == "DiagnosticReport":
            if current is not None and current.content:
                resource["result"] = _results_kept(current.content, resource)
            resource = report_marked(session, resource, results)
        stored, changed = _upsert(session, resource, org, current)
        if resource_type == "Observation" and stored.content is not None:
            results[f"Observation/{stored.id}"] = stored.content
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


def _results_kept(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """A report's results after a message about it: those it listed before, then this
    message's new ones.  A LIS may send only the OBX it corrects (or adds); a result is taken
    out by its own status (OBX-11 D: entered in error), never by being left out."""
    listed = [r for r in before.get("result", []) if r.get("reference")]
    seen = {r["reference"] for r in listed}
    return listed + [r for r in after.get("result", []) if r.get("reference") not in seen]


Key = tuple[str, str, str]  # (resource type, identifier system, value)


@dataclass(frozen=True, slots=True)
class Checks:
    """What validating a message's drafts ahead of the transaction found (:func:`check`)."""

    problems: dict[str, str | None]  # draft key -> why the draft is invalid; None: valid
    ordered: frozenset[str]  # the drafts validated answering an order (with ``basedOn``)


def final_form(
    draft: Draft, ids: Mapping[str, str], order_id: str | None, resource_id: str
) -> dict[str, Any]:
    """The draft as it is stored: references to the other drafts resolved through ``ids``,
    ``basedOn`` (a specimen's ``request``) the order, if one is answered, and its ``id``."""
    resource = _resolved(draft.resource, ids)
    if order_id is not None:
        reference = {"reference": f"ServiceRequest/{order_id}"}
        resource["request" if draft.resource["resourceType"] == "Specimen" else "basedOn"] = [
            reference
        ]
    resource["id"] = resource_id
    return resource


def _viewer(session: Session, org: str) -> Viewer:
    """What the lab sees, found once per transaction (a commit group holds many messages of
    the same lab; none of them writes what decides it: organizations, Consents)."""
    viewers: dict[str, Viewer] = session.info.setdefault("lab_bridge.viewers", {})
    if org not in viewers:
        viewers[org] = fhir_viewer(session, org)
    return viewers[org]


def answered_orders(session: Session, mapped: Mapped, viewer: Viewer) -> dict[Key, StoredResource]:
    """The orders the drafts' placer order numbers name, that the lab may see."""
    numbers = {d.order_number for d in mapped.drafts if d.order_number}
    return by_identifiers(
        session, [("ServiceRequest", APPLICATION_NUMBER, n) for n in numbers], viewer=viewer
    )


def check(session: Session, mapped: Mapped, org: str) -> Checks:
    """Validate every draft in the form it will be stored in, ahead of the transaction (in a
    worker process, beside the writer, in a read-only session): references, ids and the order
    are placeholders — valid ids of the same resource types — which the writer replaces by the
    real ids, leaving everything validation looks at as it was.  The writer validates again
    what it stores in another form (an order found or gone since: ``basedOn`` differs)."""
    ids = {d.key: _placeholder(n) for n, d in enumerate(mapped.drafts, 1)}
    orders = answered_orders(session, mapped, fhir_viewer(session, org))
    found = {number for (_, _, number) in orders}
    ordered = frozenset(d.key for d in mapped.drafts if d.order_number in found)
    problems = {
        d.key: invalid(
            final_form(d, ids, _placeholder(0) if d.key in ordered else None, ids[d.key])
        )
        for d in mapped.drafts
    }
    return Checks(problems, ordered)


def _placeholder(number: int) -> str:
    return f"{number:08x}-0000-7000-8000-000000000000"


def invalid(resource: dict[str, Any]) -> str | None:
    """The first problem ``fhir_profiles`` finds (base R4 and the profiles claimed), or None."""
    problems = validate(resource)
    return f"{problems[0].expression}: {problems[0].message}" if problems else None


def _resolved(node: Any, ids: Mapping[str, str]) -> Any:
    """A copy of ``node`` with ``draft:KEY`` references pointing at the stored resources (one
    pass, no separate deep copy: the writer does this for every resource of a group)."""
    if isinstance(node, dict):
        copied = {key: _resolved(value, ids) for key, value in node.items()}
        reference = copied.get("reference")
        if isinstance(reference, str) and reference.startswith("draft:"):
            key = reference.removeprefix("draft:")
            copied["reference"] = f"{_TYPES[key.split(':')[0]]}/{ids[key]}"
        return copied
    if isinstance(node, list):
        return [_resolved(item, ids) for item in node]
    return node


_ORDER = {"Patient": 0, "ServiceRequest": 1, "Specimen": 2, "Observation": 3,
          "DiagnosticReport": 4}  # fmt: skip
# Draft key prefixes -> the resource types they are.
_TYPES = {"patient": "Patient", "order": "ServiceRequest", "report": "DiagnosticReport",
          "result": "Observation", "specimen": "Specimen"}  # fmt: skip


def _upsert(
    session: Session, resource: dict[str, Any], org: str, current: StoredResource | None
) -> tuple[StoredResource, bool]:
    """``current`` (the lab's resource under the draft's identifier) updated with the validated
    ``resource``, or a new one; the stored resource, and whether this wrote a new version."""
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
