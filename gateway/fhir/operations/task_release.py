"""``POST /fhir/Task/{id}/$release``: the reader gives the examination back (放弃阅片)."""

from gateway.fhir.reading_steps import step_operation
from gateway.workflow import reading

OPERATION = step_operation(
    "release",
    "Release a claimed reading task (放弃阅片)",
    "The owner (or the centre's head) gives the task back to the centre's worklist (待阅片).",
    lambda session, requester, work, _: reading.release(session, requester, work),
)
