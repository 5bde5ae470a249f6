"""``POST /fhir/Specimen/{id}/$send``: the sending clinic hands a pathology specimen to
transport (送检)."""

from gateway.fhir.specimen_steps import specimen_operation
from gateway.workflow import specimens

OPERATION = specimen_operation(
    "send",
    "Send a pathology specimen (送检)",
    "The organization that took the specimen marks it sent to the pathology centre; only after "
    "it is numbered (409 otherwise), only by that organization (403).",
    lambda session, requester, shipment, _: specimens.send(session, requester, shipment),
)
