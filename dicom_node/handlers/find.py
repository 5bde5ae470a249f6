"""C-FIND SCP: Patient Root and Study Root, every level, limited by the access policy; the
Modality Worklist model is answered by ``handlers.worklist``."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from pydicom.dataset import Dataset
from pynetdicom import evt
from pynetdicom.events import Event
from pynetdicom.sop_class import (
    ModalityWorklistInformationFind,
    PatientRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelFind,
)

from dicom_node.handlers.answers import Answer, pending_then_success
from dicom_node.handlers.worklist import handle_worklist_find
from dicom_node.metrics import DIMSE
from dicom_node.node import Node
from dicom_node.status import (
    IDENTIFIER_DOES_NOT_MATCH,
    NOT_AUTHORIZED,
    OUT_OF_RESOURCES,
)
from storage import transaction
from storage.dicom import Level, QueryError, find, parse_level
from storage.errors import StorageError

log = logging.getLogger("yilian.dicom")

STUDY_ROOT_LEVELS = (Level.STUDY, Level.SERIES, Level.IMAGE)
LEVELS = {
    PatientRootQueryRetrieveInformationModelFind: tuple(Level),
    StudyRootQueryRetrieveInformationModelFind: STUDY_ROOT_LEVELS,
}


def handle_find(event: Event, node: Node) -> Iterator[Answer]:
    if event.request.AffectedSOPClassUID == ModalityWorklistInformationFind:
        yield from handle_worklist_find(event, node)
        return
    requestor = node.requestor(event)
    if requestor.org_id is None:
        DIMSE.labels("C-FIND", "not_authorized").inc()
        yield NOT_AUTHORIZED, None
        return
    try:
        identifier: Dataset = event.identifier
        level = parse_level(identifier, LEVELS[event.request.AffectedSOPClassUID])
        access = node.study_access(requestor)
        with transaction(node.platform.sessions) as session:
            matches = list(find(session, level, identifier, access))
    except QueryError as exc:
        DIMSE.labels("C-FIND", "bad_identifier").inc()
        log.warning("C-FIND refused", extra={"reason": str(exc)})
        yield IDENTIFIER_DOES_NOT_MATCH, None
        return
    except StorageError:
        DIMSE.labels("C-FIND", "out_of_resources").inc()
        yield OUT_OF_RESOURCES, None
        return
    node.audit(requestor, "C-FIND", "success", level=level.value, matches=len(matches))
    yield from pending_then_success(event, matches)


HANDLERS = [(evt.EVT_C_FIND, handle_find)]
