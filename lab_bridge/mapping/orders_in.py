"""OML^O21 / ORM^O01 from a member's HIS -> ServiceRequest (+ Specimen): a commissioned lab
order placed with the lab centre serving the sender, or a change of one already placed.

ORC-1 says what happens (NW new, XO changed, SC status changed, CA/OC/DC cancelled); ORC-2 /
OBR-2 is the placer order number (电子申请单号), under which the order is kept, so each message
about it updates the same ServiceRequest; ORC-5 is the order's status.  SPM (2.5) is the
specimen: barcode, type, collection and receipt times, and a rejection (SPM-21) makes it
unsatisfactory — what the clinic sees of its specimen's way through the lab.
"""

from __future__ import annotations

from typing import Any

from lab_bridge.errors import ContentError
from lab_bridge.mapping.drafts import Draft, Mapped, ref
from lab_bridge.mapping.oru_r01 import Context
from lab_bridge.mapping.patient import patient
from lab_bridge.mapping.specimen import specimen
from lab_bridge.mapping.values import concept, date_time
from lab_bridge.parse import Message, Segment
from storage.identity_numbers import APPLICATION_NUMBER

LAB = {"coding": [{"system": "http://yilian.example/fhir/CodeSystem/exam-category",
                   "code": "lab", "display": "Laboratory"}], "text": "检验"}  # fmt: skip
CANCELLED = {"CA", "OC", "DC", "OD", "DR"}
# ORC-5 order status (HL7 table 0038) -> ServiceRequest.status.
ORDER_STATUS = {"IP": "active", "SC": "active", "A": "active", "CM": "completed",
                "CA": "revoked", "DC": "revoked", "HD": "on-hold"}  # fmt: skip
PRIORITY = {"S": "stat", "A": "asap", "R": "routine", "P": "routine", "T": "urgent"}


def map_order(message: Message, context: Context) -> Mapped:
    pid = message.first("PID")
    if pid is None:
        raise ContentError("PID", 101, "an order needs the patient (PID)")
    mapped = Mapped(drafts=[patient(pid, 1, context.org, context.known_orgs, context.zone)])
    orc: Segment | None = None
    priority: str | None = None
    counts: dict[str, int] = {}
    order: Draft | None = None
    for segment in message.segments:
        counts[segment.name] = index = counts.get(segment.name, 0) + 1
        if segment.name == "ORC":
            orc, priority = segment, PRIORITY.get(segment.get(7, 6))  # 2.3-style ORC-7.6
        elif segment.name == "TQ1" and segment.get(9):
            priority = PRIORITY.get(segment.get(9))  # 2.5: TQ1-9, between ORC and OBR
        elif segment.name == "OBR":
            if orc is None:
                raise ContentError(f"OBR[{index}]", 101, "an OBR without its ORC")
            order = _order(orc, segment, index, counts.get("ORC", 1), context)
            order.resource["priority"] = priority or "routine"
            mapped.drafts.append(order)
        elif segment.name == "SPM" and order is not None:
            mapped.drafts.append(_specimen(segment, index, order, context))
    if order is None:
        raise ContentError("OBR", 101, "an order needs at least one ORC and OBR")
    return mapped


def _order(orc: Segment, obr: Segment, index: int, orc_index: int, context: Context) -> Draft:
    number = orc.get(2) or obr.get(2)
    if not number:
        raise ContentError(f"ORC[{orc_index}]-2", 101, "no placer order number (ORC-2/OBR-2)")
    control = orc.get(1)
    if control not in ("NW", "XO", "SC", "RP", *CANCELLED):
        raise ContentError(f"ORC[{orc_index}]-1", 103, f"order control {control!r} is not taken")
    tests = obr.repetitions(4)
    code = concept(tests[0] if tests else [], context.codes, f"OBR[{index}]-4")
    if code is None:
        raise ContentError(f"OBR[{index}]-4", 101, "the test ordered (OBR-4) is missing")
    status = "revoked" if control in CANCELLED else ORDER_STATUS.get(orc.get(5), "active")
    resource: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "identifier": [{"system": APPLICATION_NUMBER, "value": number}],
        "status": status,
        "intent": "order",
        "category": [LAB],
        "code": code,
        "subject": ref("patient:1"),
        "requester": {"reference": f"Organization/{context.org}"},
    }
    if context.lab_centre:
        resource["performer"] = [{"reference": f"Organization/{context.lab_centre}"}]
    if authored := date_time(orc.get(9), context.zone, f"ORC[{orc_index}]-9"):
        resource["authoredOn"] = authored
    return Draft(f"order:{index}", resource, (APPLICATION_NUMBER, number), f"OBR[{index}]")


def _specimen(spm: Segment, index: int, order: Draft, context: Context) -> Draft:
    subject = ref("patient:1")
    draft = specimen(spm, index, subject, context.codes, context.specimens, context.zone)
    draft.resource["request"] = [ref(order.key)]
    return draft
