"""``POST /fhir/Task/{id}/$critical``: the reader reports a critical finding (影像危急值)."""

from gateway.fhir.operation import Param
from gateway.fhir.reading_steps import step_operation
from gateway.workflow import reading

OPERATION = step_operation(
    "critical",
    "Report a critical finding (危急值)",
    "A reader of the centre alerts the ordering organization at once: a critical alert with "
    "read-back acknowledgement ($acknowledge) and escalation when unanswered ($chain) — the "
    "chain of lab critical values.",
    lambda session, requester, work, inputs: reading.mark_critical(
        session, requester, work, inputs.text("finding")
    ),
    (Param("finding", "in", "string", "the critical finding, as it is read out", 1),),
)
