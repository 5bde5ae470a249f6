"""``POST /fhir/Task/{id}/$return``: the centre sends the examination back to the clinic."""

from gateway.fhir.operation import Param
from gateway.fhir.reading_steps import step_operation
from gateway.workflow import reading

OPERATION = step_operation(
    "return",
    "Return an examination to the clinic (退回)",
    "The centre cannot read it: the task is rejected (已退回) with the reason (code system "
    "return-reason: image-quality, wrong-body-part, missing-history, incomplete-series, other).",
    lambda session, requester, work, inputs: reading.return_to_clinic(
        session, requester, work, inputs.text("reason"), inputs.text("text")
    ),
    (
        Param("reason", "in", "code", "why (return-reason)", 1),
        Param("text", "in", "string", "what the clinic should do"),
    ),
)
