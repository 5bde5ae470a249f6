"""``POST /fhir/Task/{id}/$arrive``: the referred patient arrived at the receiving member."""

from gateway.fhir.referral_steps import referral_operation
from gateway.workflow import referrals

OPERATION = referral_operation(
    "arrive",
    "The referred patient arrived (患者已到院)",
    "The receiving organization records the patient's arrival: the accepted Task is in "
    "progress (患者已到院).",
    lambda session, requester, work, values: referrals.arrive(session, requester, work),
)
