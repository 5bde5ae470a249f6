"""Build the DICOM node: the AE, its presentation contexts and its bound handlers."""

from __future__ import annotations

import logging
from typing import Any

from pynetdicom import ALL_TRANSFER_SYNTAXES, AllStoragePresentationContexts, _config, evt
from pynetdicom.events import Event
from pynetdicom.sop_class import (
    ModalityPerformedProcedureStep,
    ModalityWorklistInformationFind,
    PatientRootQueryRetrieveInformationModelFind,
    PatientRootQueryRetrieveInformationModelGet,
    PatientRootQueryRetrieveInformationModelMove,
    StorageCommitmentPushModel,
    StudyRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelGet,
    StudyRootQueryRetrieveInformationModelMove,
    Verification,
)

from dicom_node import transport
from dicom_node.handlers import commitment, echo, find, mpps, retrieve, store
from dicom_node.ingest_pool import IngestPool
from dicom_node.metrics import ASSOCIATIONS
from dicom_node.node import Node
from dicom_node.registry_ae import RegistryAE
from storage.platform import Platform

log = logging.getLogger("yilian.dicom")

# Received data sets go straight to a temporary file (with a file meta header) instead of
# memory: an instance of any size costs a fixed amount of RAM.
_config.STORE_RECV_CHUNKED_DATASET = True
# pynetdicom's own logging stays at WARNING (storage/logs.py), but its standard event handlers
# and its dumps of every query and answer identifier (patients' names and IDs) are built before
# the level is checked: about a tenth of a worklist answer's cost, and identifiers must never
# be formatted for a log.  Associations and refusals are logged by the node itself.
_config.LOG_HANDLER_LEVEL = "none"
_config.LOG_REQUEST_IDENTIFIERS = False
_config.LOG_RESPONSE_IDENTIFIERS = False

QUERY_RETRIEVE = (
    PatientRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelFind,
    PatientRootQueryRetrieveInformationModelMove,
    StudyRootQueryRetrieveInformationModelMove,
    PatientRootQueryRetrieveInformationModelGet,
    StudyRootQueryRetrieveInformationModelGet,
)


def _accepted(event: Event) -> None:
    ASSOCIATIONS.labels("accepted").inc()
    log.info("association accepted", extra={"calling_ae": event.assoc.requestor.ae_title})


def _rejected(event: Event) -> None:
    ASSOCIATIONS.labels("rejected").inc()
    log.warning("association rejected", extra={"calling_ae": event.assoc.requestor.ae_title})


def build_ae(
    platform: Platform, ingest_pool: IngestPool | None = None
) -> tuple[RegistryAE, list[Any]]:
    ae = RegistryAE(platform.settings.ae_title, platform.sessions)
    ae.require_called_aet = True
    ae.maximum_pdu_size = 0  # no limit on what we receive
    ae.maximum_associations = platform.settings.dicom_max_associations
    ae.add_supported_context(Verification)
    for context in AllStoragePresentationContexts:
        # Both roles: a modality pushes (SCU), a C-GET requestor receives (SCP).
        ae.add_supported_context(
            context.abstract_syntax, ALL_TRANSFER_SYNTAXES, scu_role=True, scp_role=True
        )
    for model in QUERY_RETRIEVE:
        ae.add_supported_context(model)
    ae.add_supported_context(StorageCommitmentPushModel)
    ae.add_supported_context(ModalityWorklistInformationFind)
    ae.add_supported_context(ModalityPerformedProcedureStep)
    node = Node(platform, ae, ingest_pool)
    handlers: list[Any] = [
        *echo.HANDLERS,
        *transport.HANDLERS,
        (evt.EVT_ACCEPTED, _accepted),
        (evt.EVT_REJECTED, _rejected),
    ]
    for module in (store, find, retrieve, commitment, mpps):
        handlers.extend((event, handler, [node]) for event, handler in module.HANDLERS)
    return ae, handlers
