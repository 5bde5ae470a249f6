"""C-STORE SCP: every storage SOP class, streamed to disk by pynetdicom, then ingested.

Success is answered only after the object is durable and the index committed (see
``storage.dicom.ingest``); otherwise the modality gets a failure and keeps its copy.
"""

from __future__ import annotations

import logging
from pathlib import Path

from pydicom.dataset import Dataset
from pynetdicom import evt
from pynetdicom.events import Event

from dicom_node.metrics import DIMSE
from dicom_node.node import Node
from dicom_node.status import (
    CANNOT_UNDERSTAND,
    DATA_SET_DOES_NOT_MATCH,
    NOT_AUTHORIZED,
    OUT_OF_RESOURCES,
    SUCCESS,
)
from storage.dicom import InvalidInstance, Sender
from storage.errors import StorageError

log = logging.getLogger("yilian.dicom")


def _status(code: int, comment: str = "") -> Dataset:
    answer = Dataset()
    answer.Status = code
    if comment:
        answer.ErrorComment = comment[:64]
    return answer


def handle_store(event: Event, node: Node) -> Dataset:
    requestor = node.requestor(event)
    if requestor.org_id is None:
        DIMSE.labels("C-STORE", "not_authorized").inc()
        return _status(NOT_AUTHORIZED, "calling AE title is not registered")
    sender = Sender(requestor.org_id, requestor.ae_title)
    try:
        result = node.ingest(
            Path(event.dataset_path), sender, str(event.request.AffectedSOPInstanceUID)
        )
    except InvalidInstance as exc:
        DIMSE.labels("C-STORE", "invalid").inc()
        log.warning(
            "instance refused", extra={"calling_ae": requestor.ae_title, "reason": str(exc)}
        )
        return _status(CANNOT_UNDERSTAND if exc.undecodable else DATA_SET_DOES_NOT_MATCH, str(exc))
    except StorageError as exc:
        DIMSE.labels("C-STORE", "out_of_resources").inc()
        log.error(
            "instance not stored: storage unavailable",
            extra={"calling_ae": requestor.ae_title, "error": type(exc).__name__},
        )
        return _status(OUT_OF_RESOURCES, "storage unavailable, keep the instance and retry")
    DIMSE.labels("C-STORE", result.outcome.value).inc()
    return _status(SUCCESS)


HANDLERS = [(evt.EVT_C_STORE, handle_store)]
