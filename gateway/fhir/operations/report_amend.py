"""``POST /fhir/DiagnosticReport/{id}/$amend``: a released report changed or supplemented,
with its reason."""

from gateway.fhir.operation import Param
from gateway.fhir.reading_steps import step_operation
from gateway.workflow import reading

OPERATION = step_operation(
    "amend",
    "Amend or supplement a released report (报告更正 / 补充报告)",
    "A senior reader of the centre issues a new version (amended, corrected or appended) "
    "with its reason, recorded by a Provenance; the ordering organization is told again.",
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
        Param(
            "kind",
            "in",
            "code",
            "amended (default), corrected, or appended (补充报告: "
            "a report-supplement extension and new results, nothing said before changed)",
        ),
    ),
    on_report=True,
)
