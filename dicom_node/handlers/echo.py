"""C-ECHO (Verification SOP Class): answers Success to every registered AE."""

from __future__ import annotations

from pynetdicom import evt
from pynetdicom.events import Event

from dicom_node.metrics import DIMSE
from dicom_node.status import SUCCESS


def handle_echo(event: Event) -> int:
    DIMSE.labels("C-ECHO", "success").inc()
    return SUCCESS


HANDLERS = [(evt.EVT_C_ECHO, handle_echo)]
