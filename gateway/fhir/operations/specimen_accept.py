"""``POST /fhir/Specimen/{id}/$accept``: the pathology centre accepts a received specimen
(接收)."""

from gateway.fhir.specimen_steps import specimen_operation
from gateway.workflow import specimens

OPERATION = specimen_operation(
    "accept",
    "Accept a pathology specimen (接收)",
    "The order's pathology centre accepts a received specimen for examination; when every "
    "specimen of the order is decided, the reading task waits for its reader (待阅片). Anyone "
    "else 403; a specimen not received, or rejected, 409.",
    lambda session, requester, shipment, _: specimens.accept(session, requester, shipment),
)
