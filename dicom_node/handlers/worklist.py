"""C-FIND SCP for the Modality Worklist Information Model (PS3.4 K): the scheduled imaging
orders the calling AE's organization placed (``storage.fhir.worklist``), as worklist items
(``worklist_items``) matched on the keys the modality sent (``worklist_query``)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from zoneinfo import ZoneInfo

from pynetdicom.events import Event

from dicom_node.handlers.answers import Answer, pending_then_success
from dicom_node.metrics import DIMSE
from dicom_node.node import Node
from dicom_node.status import (
    CANNOT_UNDERSTAND,
    IDENTIFIER_DOES_NOT_MATCH,
    NOT_AUTHORIZED,
    OUT_OF_RESOURCES,
)
from dicom_node.worklist_items import worklist_item
from dicom_node.worklist_query import (
    NotWorklist,
    UnreadableValue,
    answer,
    matches,
    narrowing,
    parse_query,
)
from fhir_profiles.profiles import CANONICAL
from storage import transaction
from storage.db import reading
from storage.dicom import DECODE_ERRORS
from storage.errors import StorageError
from storage.fhir import scheduled_orders, with_study_uids
from storage.policy import fhir_viewer

log = logging.getLogger("yilian.dicom")

IMAGING = (f"{CANONICAL}/CodeSystem/exam-category", "imaging")
# At most this many orders are considered per query (oldest first): a day of a busy clinic is
# a few hundred; a universal query over months is cut here.
MAX_ORDERS = 2000


def handle_worklist_find(event: Event, node: Node) -> Iterator[Answer]:
    requestor = node.requestor(event)
    if requestor.org_id is None:
        DIMSE.labels("C-FIND", "not_authorized").inc()
        yield NOT_AUTHORIZED, None
        return
    try:
        query = parse_query(event.identifier)
        zone = ZoneInfo(node.platform.settings.local_timezone)
        # Read without the write lock; only an order asked for the first time needs a write
        # (its Study Instance UID is made once and kept).
        with reading(node.platform.sessions) as session:
            viewer = fhir_viewer(session, requestor.org_id)
            orders = scheduled_orders(
                session, viewer, IMAGING, narrowing(query, zone), limit=MAX_ORDERS, make_uids=False
            )
        if any(not order.study_uid for order in orders):
            with transaction(node.platform.sessions) as session:
                orders = with_study_uids(session, orders)
        items = (worklist_item(order, requestor.ae_title, zone) for order in orders)
        matched = [item for item in items if matches(query, item)]
        # The access record is committed while the answers are made; none goes out before.
        recorded = node.record(requestor, "C-FIND", "success", level="WORKLIST",
                               matches=len(matched))  # fmt: skip
        answers = [answer(query, item) for item in matched]
        recorded.wait()
    except NotWorklist as exc:
        DIMSE.labels("C-FIND", "bad_identifier").inc()
        log.warning("worklist C-FIND refused", extra={"reason": str(exc)})
        yield IDENTIFIER_DOES_NOT_MATCH, None
        return
    except (UnreadableValue, *DECODE_ERRORS) as exc:
        DIMSE.labels("C-FIND", "unreadable").inc()
        log.warning("worklist C-FIND refused", extra={"reason": type(exc).__name__})
        yield CANNOT_UNDERSTAND, None
        return
    except StorageError:
        DIMSE.labels("C-FIND", "out_of_resources").inc()
        yield OUT_OF_RESOURCES, None
        return
    yield from pending_then_success(event, answers)
