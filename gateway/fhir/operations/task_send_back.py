"""``POST /fhir/Task/{id}/$send-back``: the senior returns the report to its author (审核退回)."""

from gateway.fhir.operation import Param
from gateway.fhir.reading_steps import step_operation
from gateway.workflow import reading

OPERATION = step_operation(
    "send-back",
    "Send a preliminary report back to its author (审核退回)",
    "A senior reader returns the preliminary report to its author with comments (阅片中).",
    lambda session, requester, work, inputs: reading.send_back(
        session, requester, work, inputs.text("comment")
    ),
    (Param("comment", "in", "string", "what the author should change", 1),),
)
