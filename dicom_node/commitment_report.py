"""Storage Commitment result (N-EVENT-REPORT), sent by the worker from the outbox.

An instance is committed when the index holds it with the referenced SOP class (so its object
is durable); otherwise it is reported failed with reason 0x0112 (no such instance) or 0x0119
(class/instance conflict).  The report goes to the requesting AE's registered host and port on a
new association on which this node takes the SCP role.
"""

from __future__ import annotations

import logging
from typing import Any

from pydicom.dataset import Dataset
from pynetdicom import AE, build_role
from pynetdicom.sop_class import StorageCommitmentPushModel

from dicom_node.status import CLASS_INSTANCE_CONFLICT, NO_SUCH_OBJECT_INSTANCE, SUCCESS
from storage import transaction
from storage.models import AETitle, DicomInstance
from storage.platform import Platform

log = logging.getLogger("yilian.dicom")

# The well-known SOP Instance UID of the Storage Commitment Push Model.
COMMITMENT_INSTANCE = "1.2.840.10008.1.20.1.1"
ALL_COMMITTED, SOME_FAILED = 1, 2


def _reference(class_uid: str, instance_uid: str, reason: int | None = None) -> Dataset:
    item = Dataset()
    item.ReferencedSOPClassUID = class_uid
    item.ReferencedSOPInstanceUID = instance_uid
    if reason is not None:
        item.FailureReason = reason
    return item


def commitment_result(platform: Platform, payload: dict[str, Any]) -> tuple[int, Dataset]:
    committed, failed = [], []
    with transaction(platform.sessions) as session:
        for class_uid, instance_uid in payload["references"]:
            stored = session.get(DicomInstance, instance_uid)
            if stored is None:
                failed.append(_reference(class_uid, instance_uid, NO_SUCH_OBJECT_INSTANCE))
            elif stored.sop_class_uid != class_uid:
                failed.append(_reference(class_uid, instance_uid, CLASS_INSTANCE_CONFLICT))
            else:
                committed.append(_reference(class_uid, instance_uid))
    report = Dataset()
    report.TransactionUID = payload["transaction_uid"]
    if committed:
        report.ReferencedSOPSequence = committed
    if failed:
        report.FailedSOPSequence = failed
    return (SOME_FAILED if failed else ALL_COMMITTED), report


def send_commitment_report(platform: Platform, payload: dict[str, Any]) -> None:
    """Outbox handler for ``dicom.commitment``; raising makes the outbox retry later."""
    with transaction(platform.sessions) as session:
        peer = session.get(AETitle, payload["ae_title"])
        address = (peer.host, peer.port) if peer is not None else (None, None)
    if address[0] is None or address[1] is None:
        raise LookupError("the requesting AE has no registered host/port for the report")
    event_type, report = commitment_result(platform, payload)
    ae = AE(platform.settings.ae_title)
    ae.add_requested_context(StorageCommitmentPushModel)
    role = build_role(StorageCommitmentPushModel, scu_role=False, scp_role=True)
    assoc = ae.associate(address[0], address[1], ae_title=payload["ae_title"], ext_neg=[role])
    if not assoc.is_established:
        raise ConnectionError("the requesting AE did not accept the association")
    try:
        status, _ = assoc.send_n_event_report(
            report, event_type, StorageCommitmentPushModel, COMMITMENT_INSTANCE
        )
    finally:
        assoc.release()
    if status is None or status.Status != SUCCESS:
        raise ConnectionError("the requesting AE did not accept the commitment report")
    log.info("storage commitment reported", extra={"event_type": event_type})
