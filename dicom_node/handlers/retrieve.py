"""C-MOVE and C-GET SCP: send the designated instances as C-STORE sub-operations.

C-MOVE sends to a registered destination AE (host and port from the registry) on a new
association; C-GET sends back on the requestor's own association.  pynetdicom counts the
sub-operations and answers Success, Warning 0xB000 (some failed) or Failure 0xA702 (all failed)
with the Failed SOP Instance UID List.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from pydicom.dataset import Dataset
from pynetdicom import evt
from pynetdicom.events import Event
from pynetdicom.sop_class import (
    PatientRootQueryRetrieveInformationModelGet,
    PatientRootQueryRetrieveInformationModelMove,
    StudyRootQueryRetrieveInformationModelGet,
    StudyRootQueryRetrieveInformationModelMove,
)

from dicom_node import transport
from dicom_node.handlers.find import STUDY_ROOT_LEVELS
from dicom_node.instances import contexts_for, load
from dicom_node.metrics import DIMSE
from dicom_node.node import Node, Requestor
from dicom_node.status import (
    CANCELLED,
    IDENTIFIER_DOES_NOT_MATCH,
    NOT_AUTHORIZED,
    OUT_OF_RESOURCES,
    PENDING,
)
from storage import transaction
from storage.dicom import Level, QueryError, StoredInstance, instances_matching, parse_level
from storage.errors import StorageError

log = logging.getLogger("yilian.dicom")

LEVELS = {
    PatientRootQueryRetrieveInformationModelMove: tuple(Level),
    PatientRootQueryRetrieveInformationModelGet: tuple(Level),
    StudyRootQueryRetrieveInformationModelMove: STUDY_ROOT_LEVELS,
    StudyRootQueryRetrieveInformationModelGet: STUDY_ROOT_LEVELS,
}

Answer = tuple[int, Dataset | None]


class Refused(Exception):
    def __init__(self, status: int, outcome: str) -> None:
        self.status = status
        self.outcome = outcome


def _designated(event: Event, node: Node, requestor: Requestor) -> list[StoredInstance]:
    if requestor.org_id is None:
        raise Refused(NOT_AUTHORIZED, "not_authorized")
    try:
        identifier: Dataset = event.identifier
        level = parse_level(identifier, LEVELS[event.request.AffectedSOPClassUID])
        access = node.study_access(requestor)
        with transaction(node.platform.sessions) as session:
            return instances_matching(session, level, identifier, access)
    except QueryError as exc:
        log.warning("retrieve refused", extra={"reason": str(exc)})
        raise Refused(IDENTIFIER_DOES_NOT_MATCH, "bad_identifier") from exc
    except StorageError as exc:
        raise Refused(OUT_OF_RESOURCES, "out_of_resources") from exc


def _sub_operations(
    event: Event, node: Node, instances: list[StoredInstance], service: str
) -> Iterator[Answer]:
    for instance in instances:
        if event.is_cancelled:
            DIMSE.labels(service, "cancelled").inc()
            yield CANCELLED, None
            return
        yield PENDING, load(node.platform.blobs, instance)
    DIMSE.labels(service, "done").inc()


def handle_move(event: Event, node: Node) -> Iterator[Any]:
    requestor = node.requestor(event)
    destination = node.ae.registered().get(str(event.move_destination).strip())
    if destination is None or not destination.host or not destination.port:
        DIMSE.labels("C-MOVE", "destination_unknown").inc()
        node.audit(requestor, "C-MOVE", "failure", reason="destination unknown")
        yield None, None
        return
    try:
        instances = _designated(event, node, requestor)
    except Refused as refused:
        DIMSE.labels("C-MOVE", refused.outcome).inc()
        # pynetdicom wants the destination and a count before any status.
        yield destination.host, destination.port
        yield 1
        yield refused.status, None
        return
    node.audit(
        requestor,
        "C-MOVE",
        "success",
        destination=destination.ae_title,
        studies=sorted({i.study_uid for i in instances}),
        instances=len(instances),
    )
    yield (
        destination.host,
        destination.port,
        {
            "ae_title": destination.ae_title,
            "contexts": contexts_for(instances),
            "evt_handlers": transport.HANDLERS,
        },
    )
    yield len(instances)
    yield from _sub_operations(event, node, instances, "C-MOVE")


def handle_get(event: Event, node: Node) -> Iterator[Any]:
    requestor = node.requestor(event)
    try:
        instances = _designated(event, node, requestor)
    except Refused as refused:
        DIMSE.labels("C-GET", refused.outcome).inc()
        yield 1
        yield refused.status, None
        return
    node.audit(
        requestor,
        "C-GET",
        "success",
        studies=sorted({i.study_uid for i in instances}),
        instances=len(instances),
    )
    yield len(instances)
    yield from _sub_operations(event, node, instances, "C-GET")


HANDLERS = [(evt.EVT_C_MOVE, handle_move), (evt.EVT_C_GET, handle_get)]
