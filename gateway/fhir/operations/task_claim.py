"""``POST /fhir/Task/{id}/$claim``: a reader of the centre takes the examination (领取阅片)."""

from gateway.fhir.reading_steps import step_operation
from gateway.workflow import reading

OPERATION = step_operation(
    "claim",
    "Claim a reading task (领取阅片)",
    "A reader of the performing centre becomes the task's one owner (阅片中); another reader "
    "who claimed it first keeps it (409).",
    lambda session, requester, work, _: reading.claim(session, requester, work),
)
