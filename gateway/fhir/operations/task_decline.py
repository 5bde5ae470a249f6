"""``POST /fhir/Task/{id}/$decline``: the receiving organization cannot take the patient."""

from gateway.fhir.operation import Param
from gateway.fhir.referral_steps import referral_operation, text
from gateway.workflow import referrals

OPERATION = referral_operation(
    "decline",
    "Decline a referral (拒收转诊)",
    "The receiving organization declines the referral with its reason: the Task is rejected "
    "(已拒收), statusReason the reason; the referrer sees it.",
    lambda session, requester, work, values: referrals.decline(
        session, requester, work, text(values, "reason")
    ),
    (Param("reason", "in", "string", "why (e.g. 床位已满)", 1),),
)
