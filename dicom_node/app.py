"""Build the DICOM node: the AE, its presentation contexts and its bound handlers."""

from __future__ import annotations

import logging

from pynetdicom import evt
from pynetdicom.events import Event
from pynetdicom.sop_class import Verification

from dicom_node.handlers import echo
from dicom_node.metrics import ASSOCIATIONS
from dicom_node.registry_ae import RegistryAE
from storage.platform import Platform

log = logging.getLogger("yilian.dicom")


def _accepted(event: Event) -> None:
    ASSOCIATIONS.labels("accepted").inc()
    log.info("association accepted", extra={"calling_ae": event.assoc.requestor.ae_title})


def _rejected(event: Event) -> None:
    ASSOCIATIONS.labels("rejected").inc()
    log.warning("association rejected", extra={"calling_ae": event.assoc.requestor.ae_title})


def build_ae(platform: Platform) -> tuple[RegistryAE, list[tuple[evt.EventType, object]]]:
    ae = RegistryAE(platform.settings.ae_title, platform.sessions)
    ae.add_supported_context(Verification)
    ae.maximum_pdu_size = 0  # no limit on what we receive
    handlers = [
        *echo.HANDLERS,
        (evt.EVT_ACCEPTED, _accepted),
        (evt.EVT_REJECTED, _rejected),
    ]
    return ae, handlers
