"""``POST /fhir/Task/{id}/$accept``: the receiving organization takes the referred patient."""

from gateway.fhir.operation import Param
from gateway.fhir.referral_steps import referral_operation, text
from gateway.workflow import referrals

OPERATION = referral_operation(
    "accept",
    "Accept a referral (接收转诊)",
    "The receiving organization accepts the referral: the Task goes from received (待接收) to "
    "accepted (已接收); the acceptance time is recorded (the green channel's clock stops).",
    lambda session, requester, work, values: referrals.accept(
        session, requester, work, text(values, "note")
    ),
    (Param("note", "in", "string", "e.g. where and when the patient is expected"),),
)
