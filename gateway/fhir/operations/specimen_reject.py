"""``POST /fhir/Specimen/{id}/$reject``: the pathology centre rejects a specimen with the
reason (拒收); the sending clinic is told."""

from gateway.fhir.operation import Param
from gateway.fhir.specimen_steps import specimen_operation
from gateway.workflow import specimens

OPERATION = specimen_operation(
    "reject",
    "Reject a pathology specimen (拒收)",
    "The order's pathology centre rejects a sent or received specimen: status unsatisfactory, "
    "the coded reason (specimen-rejection-reason extension) and a note; the ordering "
    "organization gets a Communication. When all specimens of the order are rejected, its "
    "reading task goes back to the clinic (已退回). Anyone else 403; an accepted or rejected "
    "specimen 409.",
    lambda session, requester, shipment, values: specimens.reject(
        session,
        requester,
        shipment,
        str(values.get("reason") or ""),
        str(values.get("text") or ""),
    ),
    (
        Param(
            "reason",
            "in",
            "code",
            "unlabelled | insufficient-fixative | mismatch | container-damaged | other",
            1,
        ),
        Param("text", "in", "string", "what was wrong (needed when the reason is other)", 0),
    ),
)
