"""Orders in (基层检查、上级诊断): a member's order to a shared reading centre becomes that
centre's reading ``Task`` — FHIR Workflow "option F", the platform as broker.

Whatever path wrote the ``ServiceRequest`` (REST, a Bundle), ``reading.order`` (a
``yilian.fhir_listeners`` entry) brings it to the worker, which, in one transaction:

- finds the centre: the ``HealthcareService`` the order names as performer, else the centre of
  the order's category (imaging, ECG, pathology) that serves the ordering organization;
- gives the order an accession number (DICOM AccessionNumber, identifier type ACSN) when it
  has none, so the modality worklist and the study can be matched to it;
- creates the centre's Task once: ``basedOn``/``focus`` the order, ``for`` its patient,
  ``owner`` the centre until a reader claims it, ``restriction.period.end`` the due time
  (:mod:`gateway.workflow.due`), ``businessStatus`` 待检查;
- cancels the Task when the order is revoked or entered in error, and its bookings
  (:func:`gateway.workflow.booking.cancel_for_order`: their slots are freed).

The Task belongs to the centre's organization; the ordering clinic sees it because it answers
its order (``storage.policy``).
"""

from __future__ import annotations

import secrets
import string
from datetime import UTC, datetime
from typing import Any

from fhir_profiles.profiles import CANONICAL
from gateway.fhir.storing import store_valid
from gateway.workflow import booking
from gateway.workflow.due import due_at, remind
from gateway.workflow.ecg_reading import chest_pain
from storage.clinical import reading_milestones
from storage.db import transaction
from storage.exam_codes import order_modality
from storage.fhir import StoredResource, instant, new_id, referencing
from storage.fhir import store as fhir_store
from storage.models import Centre
from storage.platform import Platform
from storage.policy import fhir_viewer
from storage.registry import serving_centre

CATEGORY = f"{CANONICAL}/CodeSystem/exam-category"
READING_CATEGORIES = ("imaging", "ecg", "pathology")
TASK_PROFILE = f"{CANONICAL}/StructureDefinition/yilian-reading-task"
TASK_TYPE = f"{CANONICAL}/CodeSystem/task-type"
STATUS = f"{CANONICAL}/CodeSystem/reading-status"
ACSN = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "ACSN"}]}
CLOSED = {"revoked", "entered-in-error"}


def reading_category(resource: dict[str, Any]) -> str | None:
    codes = {
        coding.get("code")
        for category in resource.get("category", [])
        for coding in category.get("coding", [])
        if coding.get("system") == CATEGORY
    }
    return next((c for c in READING_CATEGORIES if c in codes), None)


class _ReadingOrders:
    max_attempts = 20

    def wants(self, resource: dict[str, Any]) -> bool:
        return (
            resource.get("resourceType") == "ServiceRequest"
            and resource.get("intent") == "order"
            and reading_category(resource) is not None
            and resource.get("status") in ("active", *CLOSED)
        )


READING_ORDERS = _ReadingOrders()


def on_reading_order(platform: Platform, payload: dict[str, Any]) -> None:
    """Worker handler for ``reading.order``."""
    with transaction(platform.sessions) as session:
        order = fhir_store.read(session, "ServiceRequest", payload["id"])
        if order is None or order.content is None or order.version_id != payload["version"]:
            return  # deleted, or a newer version has its own event
        category = reading_category(order.content)
        centre = centre_of(session, order, category) if category else None
        if centre is None:
            return  # no centre of this kind serves the orderer: nothing to read
        existing = referencing(
            session, "Task", "based-on", [f"ServiceRequest/{order.id}"],
            fhir_viewer(session, centre.org_id),
        )  # fmt: skip
        if order.content.get("status") in CLOSED:
            for task in existing:
                _cancel(session, task)
            booking.cancel_for_order(session, order)
            return
        if existing or not {"subject", "requester"} <= order.content.keys():
            return  # read already, or not an order a Task can answer
        content = _with_accession(session, order, centre)
        if centre.kind == "ecg" and chest_pain(content):
            content = content | {"priority": "stat"}  # 胸痛中心: read first, due from arrival
        start = _moment(content.get("authoredOn")) or datetime.now(UTC)
        task = reading_task(content, centre, due_at(session, centre, content, start))
        store_valid(session, task, centre.org_id, TASK_PROFILE)
        _open_milestones(session, task, content, order.owner_org_id, centre)


def centre_of(session: Any, order: StoredResource, category: str) -> Centre | None:
    """The centre that reads ``order``: the centre of ``category`` it names as performer, else
    the one serving its organization."""
    for performer in order.content.get("performer", []) if order.content else []:
        reference = performer.get("reference", "")
        if reference.startswith("HealthcareService/"):
            named = session.get(Centre, reference.split("/", 1)[1])
            if named is not None and named.kind == category:
                return named
    if order.owner_org_id is None:
        return None
    return serving_centre(session, category, order.owner_org_id)


def _with_accession(session: Any, order: StoredResource, centre: Centre) -> dict[str, Any]:
    content = {k: v for k, v in (order.content or {}).items() if k != "meta"}
    if any(_is_accession(i) for i in content.get("identifier", [])):
        return content
    number = "YL" + "".join(secrets.choice(string.digits + string.ascii_uppercase)
                            for _ in range(12))  # fmt: skip  # 14 of DICOM SH's 16 characters
    accession = {"type": ACSN, "system": f"urn:yilian:accession:{centre.org_id}",
                 "value": number}  # fmt: skip
    content["identifier"] = [*content.get("identifier", []), accession]
    store_valid(session, content, order.owner_org_id)
    return content


def _is_accession(identifier: dict[str, Any]) -> bool:
    codings = (identifier.get("type") or {}).get("coding", [])
    return any(c.get("code") == "ACSN" for c in codings)


def reading_task(order: dict[str, Any], centre: Centre, due: datetime) -> dict[str, Any]:
    now = datetime.now(UTC)
    priority = order.get("priority", "routine")
    return {
        "resourceType": "Task", "id": new_id(),
        "meta": {"profile": [TASK_PROFILE]},
        "basedOn": [{"reference": f"ServiceRequest/{order['id']}"}],
        "status": "requested",
        "businessStatus": status_of("awaiting-exam", "待检查"),
        "intent": "order", "priority": priority,
        "code": {"coding": [{"system": TASK_TYPE, "code": "remote-reading"}], "text": "远程诊断"},
        "focus": {"reference": f"ServiceRequest/{order['id']}"},
        "for": order["subject"],
        "authoredOn": instant(now),
        "requester": order["requester"],
        "owner": {"reference": f"HealthcareService/{centre.id}", "display": centre.name},
        "restriction": {"period": {"end": instant(due)}},
    }  # fmt: skip


def status_of(code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": STATUS, "code": code, "display": display}], "text": display}


def _cancel(session: Any, task: StoredResource) -> None:
    content = {k: v for k, v in (task.content or {}).items() if k != "meta"}
    if content.get("status") in ("cancelled", "completed"):
        return
    content |= {"status": "cancelled", "businessStatus": status_of("cancelled", "已取消")}
    store_valid(session, content, task.owner_org_id)
    reading_milestones.stamp(session, task.id, "cancelled", datetime.now(UTC))


def _open_milestones(
    session: Any, task: dict[str, Any], order: dict[str, Any], owner: str | None, centre: Centre
) -> None:
    now = datetime.now(UTC)
    reading_milestones.open_work(
        session, task_id=task["id"], order_id=order["id"], centre_id=centre.id,
        requester_org_id=owner, modality=order_modality(order), priority=task["priority"],
        ordered_at=_moment(order.get("authoredOn")) or now,
        due_at=_moment(task["restriction"]["period"]["end"]) or now,
    )  # fmt: skip
    due = _moment(task["restriction"]["period"]["end"]) or now
    remind(session, task["id"], due, now)


def _moment(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
