"""Commissioned pathology specimens (病理标本) and their way to the pathology centre, as a state
machine the server enforces: whoever asks, the step is checked here and nowhere else.

A member's HIS writes the order (``ServiceRequest`` category pathology) and one ``Specimen`` per
container with ``request`` naming it — container and fixative (``container.type``,
``container.additive``), fixation (``processing``: procedure FIXATION, additive, start time =
离体/固定开始时间), ``collection.bodySite``, the pieces (块数, ``collection.quantity``). The server
gives each one a specimen number (标本号, ``accessionIdentifier``, OID
``2.16.156.10011.1.14``) at its first write, printed on its label (:mod:`.specimen_label`);
every version is checked against the ``yilian-pathology-specimen`` profile (422 otherwise:
number, patient, order, 离体时间, body site and the tracking are required).

Tracking is the ``specimen-tracking`` extension (coded; the step, its time and who) beside
``Specimen.status``:

==========  ======  ================  ===============  ============================
code        显示     Specimen.status   who              after
==========  ======  ================  ===============  ============================
labelled    已编号   available         (the server)     —
sent        已送检   available         the sender       labelled
received    已签收   available         the centre       labelled, sent
accepted    已接收   available         the centre       received
rejected    已拒收   unsatisfactory    the centre       sent, received
==========  ======  ================  ===============  ============================

(In the national interop messages' codes: 10 barcode assigned, 150 sent, 250 signed for.)
The centre is the order's pathology centre; its organization's systems and its readers and senior
readers act for it.
A rejection carries its reason (``specimen-rejection-reason``: 标本无标识, 固定液不足, 标本与申请单
不符, 容器破损, 其他 — "other" needs a text), noted on the Specimen, and the ordering clinic is told
by a ``Communication``. As a pathology department works: the case waits while any specimen is
undecided; once all are decided it is read (the Task 待阅片) if one was accepted, and goes
back to the clinic (已退回, reason 其他: 标本拒收) if all were rejected — the clinic sends new
specimens on a new order. A step not allowed to the requester is 403, a step the state does
not allow 409; plain writes by the sender cannot change what the steps keep (409).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from fhir_profiles.profiles import CANONICAL
from gateway.auth.tokens import Requester
from gateway.errors import Conflict, Forbidden, NotFound, Unprocessable
from gateway.fhir.storing import store, store_valid
from gateway.pathology import tracking
from gateway.pathology.tracking import TRACKING, TRACKING_STEP, step_of
from gateway.workflow import pathology_reading, reading, reading_report
from gateway.workflow.orders import centre_of, reading_category
from storage.clinical import reading_milestones
from storage.fhir import StoredResource, by_identifier, instant, new_id
from storage.fhir import store as fhir_store
from storage.models import Centre

PROFILE = f"{CANONICAL}/StructureDefinition/yilian-pathology-specimen"
REJECTION = f"{CANONICAL}/StructureDefinition/specimen-rejection-reason"
REJECTION_REASON = f"{CANONICAL}/CodeSystem/specimen-rejection-reason"
SPECIMEN_NUMBER = "urn:oid:2.16.156.10011.1.14"  # 标本号
STEPS = {"labelled": "已编号", "sent": "已送检", "received": "已签收", "accepted": "已接收",
         "rejected": "已拒收"}  # fmt: skip
AFTER = {"sent": ("labelled",), "received": ("labelled", "sent"), "accepted": ("received",),
         "rejected": ("sent", "received")}  # fmt: skip
REASONS = {"unlabelled": "标本无标识", "insufficient-fixative": "固定液不足",
           "mismatch": "标本与申请单不符", "container-damaged": "容器破损",
           "other": "其他"}  # fmt: skip
KEPT = ("accessionIdentifier", "status", "receivedTime")  # what only the steps change
CENTRE_PEOPLE = {"reader", "senior_reader"}
ZONE = ZoneInfo("Asia/Shanghai")


@dataclass
class Shipment:
    """A pathology specimen with its order and the centre that reads it."""

    specimen: StoredResource
    content: dict[str, Any]
    order: StoredResource
    centre: Centre

    @property
    def step(self) -> str:
        return step_of(self.content)


def order_of(session: Session, content: dict[str, Any]) -> StoredResource | None:
    """The pathology order a specimen is for (None when it is for none)."""
    for request in content.get("request", []):
        reference = str(request.get("reference", ""))
        if reference.startswith("ServiceRequest/"):
            order = fhir_store.read(session, "ServiceRequest", reference.split("/", 1)[1])
            if order and order.content and reading_category(order.content) == "pathology":
                return order
    return None


def load(session: Session, specimen_id: str) -> Shipment:
    stored = fhir_store.read(session, "Specimen", specimen_id)
    order = order_of(session, stored.content or {}) if stored and not stored.deleted else None
    centre = centre_of(session, order, "pathology") if order is not None else None
    if stored is None or order is None or centre is None:
        raise NotFound(f"Specimen/{specimen_id} is not a specimen of a pathology order")
    content = {k: v for k, v in (stored.content or {}).items() if k != "meta"}
    return Shipment(stored, content, order, centre)


# --- a plain write by the sender ----------------------------------------------------------


def governed_write(
    session: Session, requester: Requester, resource: dict[str, Any], current: StoredResource | None
) -> StoredResource | None:
    """A Specimen written for a pathology order, checked against the profile: numbered at its
    first write, by the organization that placed the order, for the order's patient; what the
    steps keep (number, status, receipt, tracking, rejection) and its order unchanged by later
    writes (409). None for other specimens."""
    before = current.content if current is not None and not current.deleted else None
    order = order_of(session, resource)
    if before is not None and order_of(session, before) is not None:
        if resource.get("request") != before.get("request"):
            raise Conflict("a pathology specimen stays with its order (request)")
        kept = {k: before.get(k) for k in KEPT} | {"tracking": _tracking(before)}
        asked = {k: resource.get(k) for k in KEPT} | {"tracking": _tracking(resource)}
        if asked != kept:
            raise Conflict("the specimen's number, status and tracking change only by its "
                           "steps ($send, $receive, $accept, $reject)")  # fmt: skip
        written = resource
    elif order is None:
        return None
    else:
        if requester.org_id != order.owner_org_id:
            raise Forbidden("the specimens of an order come from the organization that placed it")
        if _tracking(resource) or resource.get("status") == "unsatisfactory":
            raise Conflict("a specimen's tracking is set by $send, $receive, $accept, $reject")
        written = _tracked(resource, requester, "labelled")
        if not written.get("accessionIdentifier"):
            written["accessionIdentifier"] = {"system": SPECIMEN_NUMBER,
                                              "value": _free_number(session)}  # fmt: skip
    assert order is not None
    patient = (order.content or {}).get("subject", {}).get("reference")
    if (resource.get("subject") or {}).get("reference") != patient:
        raise Unprocessable("the specimen is not of the order's patient",
                            [("Specimen.subject", "must be the order's subject")])  # fmt: skip
    owner = current.owner_org_id if before is not None and current else requester.org_id
    return store_valid(session, written | {"meta": {"profile": [PROFILE]}}, owner, PROFILE)


def _tracking(content: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in content.get("extension", []) if e.get("url") in (TRACKING, REJECTION)]


def _free_number(session: Session) -> str:
    """BL + the day (yymmdd, Beijing time) + 6 random digits that no specimen has: 14
    characters, a Code 128 symbol short enough for a 50 mm label (the digits in code set C)."""
    day = datetime.now(ZONE).strftime("%y%m%d")
    while True:
        number = f"BL{day}{secrets.randbelow(10**6):06d}"
        if by_identifier(session, "Specimen", SPECIMEN_NUMBER, number, param="accession") is None:
            return number


# --- the steps ----------------------------------------------------------------------------


def send(session: Session, requester: Requester, shipment: Shipment) -> None:
    """The sending clinic hands the specimen to transport (送检)."""
    if requester.org_id != shipment.specimen.owner_org_id:
        raise Forbidden("only the organization that took the specimen sends it")
    _move(shipment, requester, "sent")


def receive(session: Session, requester: Requester, shipment: Shipment) -> None:
    """The centre signs for the specimen (签收): ``receivedTime``."""
    _of_centre(session, requester, shipment)
    _move(shipment, requester, "received")
    shipment.content["receivedTime"] = instant(datetime.now(UTC))


def accept(session: Session, requester: Requester, shipment: Shipment) -> None:
    """The specimen is fit for examination (接收)."""
    _of_centre(session, requester, shipment)
    _move(shipment, requester, "accepted")


def reject(
    session: Session, requester: Requester, shipment: Shipment, reason: str, text: str
) -> None:
    """The specimen cannot be examined (拒收), with the reason; the clinic is told."""
    _of_centre(session, requester, shipment)
    display = REASONS.get(reason)
    if display is None:
        raise Unprocessable(f"reason must be one of {', '.join(REASONS)}", [])
    if reason == "other" and not text.strip():
        raise Unprocessable("say why the specimen is rejected (text) when the reason is other", [])
    _move(shipment, requester, "rejected")
    detail = f"{display}：{text.strip()}" if text.strip() else display
    coded = {"coding": [{"system": REJECTION_REASON, "code": reason, "display": display}],
             "text": detail}  # fmt: skip
    content = shipment.content
    content["status"] = "unsatisfactory"
    content["extension"] = [*content.get("extension", []),
                            {"url": REJECTION, "valueCodeableConcept": coded}]  # fmt: skip
    content["note"] = [*content.get("note", []), {"time": instant(datetime.now(UTC)),
                                                  "text": f"拒收：{detail}"}]  # fmt: skip
    _tell_clinic(session, shipment, f"病理标本拒收（{_number_of(content)}）：{detail}")


def save(session: Session, shipment: Shipment) -> StoredResource:
    """Keep the specimen as the step left it, and move the order's reading Task when every
    specimen of the order is decided."""
    owner = shipment.specimen.owner_org_id
    claimed = shipment.content | {"meta": {"profile": [PROFILE]}}
    shipment.specimen = store_valid(session, claimed, owner, PROFILE)
    if shipment.step in ("accepted", "rejected"):
        _decide_case(session, shipment)
    return shipment.specimen


def _of_centre(session: Session, requester: Requester, shipment: Shipment) -> None:
    centre = shipment.centre
    if requester.org_id != centre.org_id:
        raise Forbidden(f"only {centre.name} receives, accepts and rejects its specimens")
    if requester.kind == "user" and not CENTRE_PEOPLE & set(requester.roles):
        raise Forbidden(f"this step is for the staff of {centre.name}")


def _move(shipment: Shipment, requester: Requester, step: str) -> None:
    if (shipment.order.content or {}).get("status") != "active":
        raise Conflict("the specimen's order is no longer active")
    if shipment.step not in AFTER[step]:
        now = STEPS.get(shipment.step, shipment.step)
        raise Conflict(f"the specimen is {now} ({shipment.step}); {step} needs "
                       f"{' or '.join(AFTER[step])}")  # fmt: skip
    shipment.content = _tracked(shipment.content, requester, step)


def _tracked(content: dict[str, Any], requester: Requester, step: str) -> dict[str, Any]:
    """``content`` with its tracking extension at ``step``, now, by the requester."""
    parts = [
        {"url": "step", "valueCoding": {"system": TRACKING_STEP, "code": step,
                                        "display": STEPS[step]}},
        {"url": "time", "valueDateTime": instant(datetime.now(UTC))},
        {"url": "by", "valueReference": _actor(requester)},
    ]  # fmt: skip
    others = [e for e in content.get("extension", []) if e.get("url") != TRACKING]
    return content | {"extension": [*others, {"url": TRACKING, "extension": parts}]}


def _actor(requester: Requester) -> dict[str, str]:
    if requester.kind == "user":
        return {"reference": f"Practitioner/{requester.subject}"}
    return {"reference": f"Organization/{requester.org_id}"}


def _number_of(content: dict[str, Any]) -> str:
    return str((content.get("accessionIdentifier") or {}).get("value", content.get("id")))


def _tell_clinic(session: Session, shipment: Shipment, text: str) -> None:
    order = shipment.order.content or {}
    message = {
        "resourceType": "Communication", "id": new_id(), "status": "completed",
        "category": [{"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/communication-category",
            "code": "notification"}], "text": "标本拒收"}],
        "subject": order["subject"],
        "about": [{"reference": f"Specimen/{shipment.specimen.id}"},
                  {"reference": f"ServiceRequest/{shipment.order.id}"}],
        "sent": instant(datetime.now(UTC)),
        "sender": {"reference": f"Organization/{shipment.centre.org_id}",
                   "display": shipment.centre.name},
        "recipient": [{"reference": f"Organization/{shipment.order.owner_org_id}"}],
        "payload": [{"contentString": text}],
    }  # fmt: skip
    store_valid(session, message, shipment.centre.org_id)


def _decide_case(session: Session, shipment: Shipment) -> None:
    steps = [
        shipment.step if found.id == shipment.specimen.id else step_of(found.content or {})
        for found in tracking.of_order(session, shipment.order, shipment.centre.org_id)
    ]
    if any(step not in ("accepted", "rejected") for step in steps):
        return  # the case waits for its other specimens
    now = datetime.now(UTC)
    for row in reading_milestones.for_order(session, shipment.order.id):
        work = reading.load(session, row.task_id)
        if work.state != "awaiting-exam":
            continue
        if "accepted" in steps:
            reading_milestones.stamp(session, row.task_id, "images-complete", now)
            reading.move(work, "awaiting-reading")
            pathology_reading.due_from_acceptance(session, work, now)
        else:
            reading.move(work, "returned")
            work.content["statusReason"] = {"coding": [{
                "system": reading_report.RETURN_REASON, "code": "other",
                "display": reading_report.RETURN_REASONS["other"]}],
                "text": "标本拒收：本申请的标本均未接收"}  # fmt: skip
            reading_milestones.stamp(session, row.task_id, "returned", now)
        store(session, work.content, work.task.owner_org_id)
