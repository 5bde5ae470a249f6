"""Storage Commitment Push Model SCP, request side (N-ACTION).

The request is acknowledged at once and queued in the outbox; the worker checks every
referenced instance and sends the result (N-EVENT-REPORT) on a new association to the
modality's registered AE (``dicom_node.commitment_report``), retrying until it gets through.
"""

from __future__ import annotations

import logging

from pydicom.dataset import Dataset
from pynetdicom import evt
from pynetdicom.events import Event

from dicom_node.metrics import DIMSE
from dicom_node.node import Node
from dicom_node.status import (
    INVALID_ARGUMENT_VALUE,
    NO_SUCH_ACTION_TYPE,
    NOT_AUTHORIZED,
    OUT_OF_RESOURCES,
    SUCCESS,
)
from storage import transaction
from storage.errors import StorageError
from storage.outbox import enqueue

log = logging.getLogger("yilian.dicom")

TOPIC = "dicom.commitment"
REQUEST_COMMITMENT = 1


def handle_action(event: Event, node: Node) -> tuple[int, Dataset | None]:
    requestor = node.requestor(event)
    if requestor.org_id is None:
        return NOT_AUTHORIZED, None
    if event.request.ActionTypeID != REQUEST_COMMITMENT:
        return NO_SUCH_ACTION_TYPE, None
    info: Dataset = event.action_information
    try:
        transaction_uid = str(info.TransactionUID)
        references = [
            [str(item.ReferencedSOPClassUID), str(item.ReferencedSOPInstanceUID)]
            for item in info.ReferencedSOPSequence
        ]
    except (AttributeError, ValueError):
        DIMSE.labels("N-ACTION", "invalid").inc()
        return INVALID_ARGUMENT_VALUE, None
    try:
        with transaction(node.platform.sessions) as session:
            enqueue(
                session,
                TOPIC,
                {
                    "ae_title": requestor.ae_title,
                    "org_id": requestor.org_id,
                    "transaction_uid": transaction_uid,
                    "references": references,
                },
            )
    except StorageError:
        DIMSE.labels("N-ACTION", "out_of_resources").inc()
        return OUT_OF_RESOURCES, None
    DIMSE.labels("N-ACTION", "success").inc()
    log.info("storage commitment requested", extra={"instances": len(references)})
    return SUCCESS, None


HANDLERS = [(evt.EVT_N_ACTION, handle_action)]
