"""``POST /fhir/Specimen/{id}/$receive``: the pathology centre signs for a specimen (签收)."""

from gateway.fhir.specimen_steps import specimen_operation
from gateway.workflow import specimens

OPERATION = specimen_operation(
    "receive",
    "Sign for a pathology specimen (签收)",
    "The order's pathology centre (its systems, or its readers and senior readers) signs "
    "for the specimen: receivedTime. Anyone else 403; a specimen already received, accepted or "
    "rejected 409.",
    lambda session, requester, shipment, _: specimens.receive(session, requester, shipment),
)
