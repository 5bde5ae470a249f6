"""``POST /fhir/Task/{id}/$complete``: the receiving member is done and sends the summary back."""

from typing import Any

from gateway.fhir.operation import Param
from gateway.fhir.referral_steps import referral_operation, text
from gateway.workflow import referrals


def _reference(value: Any) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


OPERATION = referral_operation(
    "complete",
    "Complete a referral with its summary (回传小结)",
    "The receiving organization completes the referral: the Task is completed (已完成), its "
    "output the discharge summary (上转) or treatment summary (下转) — the text, filed by the "
    "server as a DocumentReference, or a reference to the receiver's own document — which the "
    "referrer then reads.",
    lambda session, requester, work, values: referrals.complete(
        session, requester, work, text(values, "text"), _reference(values.get("summary"))
    ),
    (
        Param("text", "in", "string", "the summary's text (出院小结 / 诊疗小结)"),
        Param("summary", "in", "Reference", "or the receiver's own DocumentReference/Composition"),
    ),
)
