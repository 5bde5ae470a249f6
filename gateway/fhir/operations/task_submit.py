"""``POST /fhir/Task/{id}/$submit``: the owner's preliminary report goes for review (提交审核)."""

from gateway.fhir.operation import Param
from gateway.fhir.reading_steps import step_operation
from gateway.workflow import reading

OPERATION = step_operation(
    "submit",
    "Submit a preliminary report for verification (提交审核)",
    "The owner's report (the one given, or the draft already saved) becomes preliminary and "
    "waits for a senior reader (待审核).",
    lambda session, requester, work, inputs: reading.submit(
        session, requester, work, inputs.resource("report")
    ),
    (Param("report", "in", "DiagnosticReport", "findings, impression, coded conclusion"),),
)
