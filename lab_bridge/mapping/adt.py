"""ADT -> Patient: A01 (admit), A04 (register) and A08 (update) create or update the sender's
own record of the patient (by the PID's first identifier); A40 (merge) records that the
MRG-1 patient is replaced by the PID patient (``Patient.link``, the old record inactive) —
never a silent rewrite of either."""

from __future__ import annotations

from lab_bridge.errors import ContentError
from lab_bridge.mapping.drafts import Draft, Mapped
from lab_bridge.mapping.oru_r01 import Context
from lab_bridge.mapping.patient import patient, system_of
from lab_bridge.parse import Message

TRIGGERS = ("A01", "A04", "A08", "A40")


def map_adt(message: Message, context: Context) -> Mapped:
    pid = message.first("PID")
    if pid is None:
        raise ContentError("PID", 101, "an ADT message needs a PID segment")
    draft: Draft = patient(pid, 1, context.org, context.known_orgs, context.zone)
    draft.own_record = True
    if message.message_type.endswith("A40"):
        mrg = message.first("MRG")
        prior = mrg.repetitions(1) if mrg is not None else []
        if not prior:
            raise ContentError("MRG[1]-1", 101, "A40 needs the prior patient identifier (MRG-1)")
        draft.replaces = [
            (system_of(r, context.org, context.known_orgs), r[0]) for r in prior if r[0]
        ]
    return Mapped(drafts=[draft])
