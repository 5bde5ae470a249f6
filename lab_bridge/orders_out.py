"""Commissioned lab orders out (委托检验): a clinic's ServiceRequest for a lab test placed with an
organization whose LIS is a registered outbound MLLP peer goes to that LIS as OML^O21 (HL7
2.5) or ORM^O01 (2.3.1), as the peer is configured (``order_message``), retried from the
outbox until the LIS answers AA.

Every write of such an order enqueues ``lab.order`` (a ``yilian.fhir_listeners`` entry); the
worker sends the version it names, unless a newer version has come since (it has its own
event).  The message control id is the order's and version's, so a LIS that got a message
whose ACK was lost recognises the resend.  AE or no answer: tried again later, with backoff,
for more than a day; AR: the LIS will never take it (dead, for an admin to see).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.core import Message
from sqlalchemy import select

from lab_bridge.errors import ContentError
from lab_bridge.mllp import exchange
from lab_bridge.parse import ParseError, Segment, escape, parse
from storage import transaction
from storage.clinical.lab_turnaround import note_sent
from storage.fhir import read_many
from storage.fhir import store as fhir_store
from storage.identity_numbers import APPLICATION_NUMBER, ID_CARD
from storage.models import MllpPeer, OrderMessage
from storage.platform import Platform
from storage.policy import fhir_viewer
from storage.worker import PermanentFailure

log = logging.getLogger("yilian.mllp")

# Lab categories: Yilian's exam category, HL7 v2 diagnostic service section, SNOMED CT.
LAB_CODES = {"lab", "LAB", "108252007"}
PRIORITY = {"stat": "S", "asap": "A", "urgent": "A", "routine": "R"}


def is_lab_order(resource: dict[str, Any]) -> bool:
    """A ServiceRequest for a lab test placed with an organization."""
    return (
        resource.get("resourceType") == "ServiceRequest"
        and bool(resource.get("performer"))
        and any(
            coding.get("code") in LAB_CODES
            for category in resource.get("category", [])
            for coding in category.get("coding", [])
        )
    )


class _LabOrders:
    max_attempts = 40  # with the outbox's backoff (capped at an hour): more than a day

    def wants(self, resource: dict[str, Any]) -> bool:
        return is_lab_order(resource) and resource.get("status") in ("active", "revoked")


LAB_ORDERS = _LabOrders()


class LisAnswered(Exception):
    """The LIS answered AE (or something that is not an ACK): try again later."""


def send_lab_order(platform: Platform, payload: dict[str, Any]) -> None:
    with transaction(platform.sessions) as session:
        order = fhir_store.read(session, "ServiceRequest", payload["id"])
        if order is None or order.content is None or order.version_id != payload["version"]:
            return  # deleted, or a newer version has its own event
        performers = {
            ref["reference"].removeprefix("Organization/")
            for ref in order.content.get("performer", [])
            if str(ref.get("reference", "")).startswith("Organization/")
        }
        peer = session.scalars(
            select(MllpPeer)
            .where(MllpPeer.org_id.in_(performers), MllpPeer.host.is_not(None))
            .order_by(MllpPeer.id)
        ).first()
        if peer is None:
            return  # the performing organization has no LIS to send to
        subject = str(order.content.get("subject", {}).get("reference", ""))
        viewer = fhir_viewer(session, order.owner_org_id or peer.org_id)
        found = read_many(session, [subject], viewer) if subject.startswith("Patient/") else []
        patient = found[0].content if found else None
        message = order_message(order.content, order.version_id, patient, peer, order.owner_org_id)
        host, port, encoding = peer.host, peer.port, peer.encoding
    assert host is not None
    assert port is not None
    answer = exchange(host, port, message.encode(encoding, "replace"))
    try:
        msa = parse(answer.decode(encoding, errors="replace")).first("MSA")
        code = msa.get(1) if msa else ""
    except (ParseError, ContentError) as exc:  # no MSH, or a control character in MSA-1
        raise LisAnswered("the LIS answered something that is not an ACK") from exc
    if code in ("AA", "CA"):
        log.info("lab order delivered", extra={"peer": peer.id})
        with transaction(platform.sessions) as session:
            note_sent(session, payload["id"], datetime.now(UTC))
        return
    if code in ("AR", "CR"):
        raise PermanentFailure(f"the LIS rejected the order: {_reason(msa)}")
    raise LisAnswered(f"the LIS answered {code or 'no MSA'}: try again")


def _reason(msa: Segment | None) -> str:
    """MSA-3, the LIS's words, or why they cannot be read."""
    try:
        return msa.get(3) if msa else ""
    except ContentError as exc:
        return exc.reason


# What a peer's ``order_message`` sends: hl7apy structure, HL7 version, MSH-9.
MESSAGES = {
    OrderMessage.OML_O21.value: ("OML_O21", "2.5", "OML^O21^OML_O21"),
    OrderMessage.ORM_O01.value: ("ORM_O01", "2.3.1", "ORM^O01"),
}


def order_message(
    order: dict[str, Any],
    version: int,
    patient: dict[str, Any] | None,
    peer: MllpPeer,
    ordering_org: str | None,
) -> str:
    """The order as the peer takes it: OML^O21 (2.5: MSH, PID, ORC, TQ1 priority, OBR) or
    ORM^O01 (2.3.1: MSH, PID, ORC, OBR, the priority in ORC-7 and OBR-27 quantity/timing).
    ORC-1 is NW, or CA once the order is revoked."""
    structure, hl7_version, message_type = MESSAGES[peer.order_message]
    msg = Message(structure, version=hl7_version, validation_level=VALIDATION_LEVEL.TOLERANT)
    msg.msh.msh_3, msg.msh.msh_4 = "YILIAN", ordering_org or ""
    msg.msh.msh_5, msg.msh.msh_6 = peer.sending_application, peer.sending_facility
    msg.msh.msh_7 = datetime.now(UTC).strftime("%Y%m%d%H%M%S+0000")
    msg.msh.msh_9 = message_type
    msg.msh.msh_10 = f"{order['id'].replace('-', '')[-16:]}{version:04d}"
    msg.msh.msh_11 = "P"
    msg.msh.msh_18 = "UNICODE UTF-8" if peer.encoding == "utf-8" else "GB 18030-2000"
    pid = msg.add_segment("PID")
    pid.pid_1 = "1"
    identifiers = [_cx(i) for i in (patient or {}).get("identifier", []) if i.get("value")]
    for cx in identifiers or [f"{escape(order['subject'].get('reference', ''))}^^^YILIAN"]:
        pid.add_field("pid_3").value = cx  # one repetition each
    names = (patient or {}).get("name") or [{}]
    pid.pid_5 = escape(names[0].get("text") or names[0].get("family", ""))
    if born := (patient or {}).get("birthDate"):
        pid.pid_7 = born.replace("-", "")
    pid.pid_8 = {"male": "M", "female": "F", "other": "O"}.get((patient or {}).get("gender"), "U")
    number = next(
        (i["value"] for i in order.get("identifier", []) if i.get("system") == APPLICATION_NUMBER),
        order["id"],
    )
    priority = PRIORITY.get(order.get("priority", "routine"), "R")
    orc = msg.add_segment("ORC")
    orc.orc_1 = "CA" if order.get("status") == "revoked" else "NW"
    orc.orc_2 = escape(number)
    if authored := order.get("authoredOn"):
        orc.orc_9 = authored[:19].replace("-", "").replace(":", "").replace("T", "")
    if structure == "OML_O21":
        tq1 = msg.add_segment("TQ1")
        tq1.tq1_1 = "1"
        tq1.tq1_9 = priority
    else:
        orc.orc_7 = f"^^^^^{priority}"  # TQ-6 priority
    obr = msg.add_segment("OBR")
    obr.obr_1 = "1"
    obr.obr_2 = escape(number)
    coding = (order.get("code", {}).get("coding") or [{}])[0]
    text = order.get("code", {}).get("text") or coding.get("display", "")
    obr.obr_4 = "^".join([escape(coding.get("code", "")), escape(text), "L"])
    if structure == "ORM_O01":
        obr.obr_27 = f"^^^^^{priority}"
    return msg.to_er7()


def _cx(identifier: dict[str, Any]) -> str:
    system = identifier.get("system", "")
    if system == ID_CARD:
        return f"{escape(identifier['value'])}^^^^ID"
    authority = system.removeprefix("urn:yilian:patient-id:") if "patient-id" in system else ""
    return f"{escape(identifier['value'])}^^^{escape(authority)}^PI"
