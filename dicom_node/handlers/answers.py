"""A C-FIND's matches sent back: each as a Pending response, then Success, or Cancel as soon as
the peer asks (C-CANCEL)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator

from pydicom.dataset import Dataset
from pynetdicom.events import Event

from dicom_node.metrics import DIMSE
from dicom_node.status import CANCELLED, PENDING, SUCCESS

Answer = tuple[int, Dataset | None]


def pending_then_success(event: Event, matches: Iterable[Dataset]) -> Iterator[Answer]:
    for match in matches:
        # pynetdicom encodes each response in this thread and sends it from its reactor
        # thread.  Without a pause here this thread kept the interpreter while it encoded the
        # next ones, and the reactor got it back only at the switch interval: one PDU sent
        # per 5 ms (tcpdump).  Giving it up between answers lets each go out as it is made.
        time.sleep(0)
        if event.is_cancelled:
            DIMSE.labels("C-FIND", "cancelled").inc()
            yield CANCELLED, None
            return
        yield PENDING, match
    DIMSE.labels("C-FIND", "success").inc()
    yield SUCCESS, None
