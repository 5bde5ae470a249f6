"""``POST /fhir/DiagnosticReport/{id}/$amend``: a released report changed, with its reason."""

from gateway.fhir.operation import Param
from gateway.fhir.reading_steps import step_operation
from gateway.workflow import reading

OPERATION = step_operation(
    "amend",
    "Amend a released report (报告更正)",
    "A senior reader of the centre issues a new version (amended or corrected) with its "
    "reason, recorded by a Provenance; the ordering organization is told again.",
    lambda session, requester, work, inputs: reading.amend(
        session,
        requester,
        work,
        inputs.resource("report") or {},
        inputs.text("reason"),
        inputs.text("kind") or "amended",
    ),
    (
        Param("report", "in", "DiagnosticReport", "the changed findings and impression", 1),
        Param("reason", "in", "string", "why it changes", 1),
        Param("kind", "in", "code", "amended (default) or corrected"),
    ),
    on_report=True,
)
