"""``POST /fhir/Task/{id}/$verify``: a senior reader signs the report (审核签发)."""

from gateway.fhir.operation import Param
from gateway.fhir.reading_steps import step_operation
from gateway.workflow import reading

OPERATION = step_operation(
    "verify",
    "Verify and release a report (审核签发)",
    "A senior reader other than the author (unless the centre allows single sign-off) makes "
    "the report final, named as resultsInterpreter and by a Provenance with a verification "
    "signature; the task is done (已发布) and the ordering organization is told.",
    lambda session, requester, work, inputs: reading.verify(
        session, requester, work, inputs.resource("report")
    ),
    (Param("report", "in", "DiagnosticReport", "the senior's revision, if any"),),
)
