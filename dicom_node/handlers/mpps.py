"""Modality Performed Procedure Step SCP (PS3.4 F.7): N-CREATE starts an exam, N-SET ends it.

N-CREATE (IN PROGRESS) finds the order by the accession number of its Scheduled Step
Attributes (an unscheduled step: the patient by PatientID) and keeps the step with its FHIR
``Procedure`` (``dicom_node.procedures``), validated like every write, in one transaction.
N-SET to COMPLETED or DISCONTINUED ends it; a final step may no longer be updated (0x0110 with
error id 0xA710).  A step is seen only by the organization whose modality created it: to any
other, and for an unknown SOP Instance UID, there is no such instance (0x0112).
"""

from __future__ import annotations

import logging
from typing import Any
from zoneinfo import ZoneInfo

from pydicom.dataset import Dataset
from pydicom.uid import generate_uid
from pynetdicom import evt
from pynetdicom.events import Event
from pynetdicom.sop_class import ModalityPerformedProcedureStep

from dicom_node.metrics import DIMSE
from dicom_node.node import Node, Requestor
from dicom_node.procedures import (
    BadStep,
    accession_of_step,
    changed_procedure,
    new_procedure,
    text,
)
from dicom_node.status import (
    DUPLICATE_SOP_INSTANCE,
    INVALID_ATTRIBUTE_VALUE,
    NO_SUCH_OBJECT_INSTANCE,
    NO_SUCH_SOP_CLASS,
    NOT_AUTHORIZED,
    OUT_OF_RESOURCES,
    PROCESSING_FAILURE,
    SUCCESS,
)
from fhir_profiles.search_values import extract
from fhir_profiles.validation import validate
from storage import transaction
from storage.dicom import DECODE_ERRORS, uid_problem
from storage.errors import StorageError
from storage.fhir import (
    FINAL,
    DuplicateStep,
    FinalStep,
    VersionConflict,
    by_identifier,
    index_rows,
    new_id,
    order_by_accession,
    performed_step,
    set_step,
    start_step,
)
from storage.policy import fhir_viewer

log = logging.getLogger("yilian.dicom")

NO_LONGER_UPDATABLE = 0xA710  # Error ID: the step may no longer be updated (PS3.4 F.7.2.2.2)

Result = tuple[int | Dataset, Dataset | None]


def _failure(status: int, comment: str, error_id: int | None = None) -> Result:
    answer = Dataset()
    answer.Status = status
    answer.ErrorComment = comment[:64]
    if error_id is not None:
        answer.ErrorID = error_id
    return answer, None


def handle_create(event: Event, node: Node) -> Result:
    requestor = node.requestor(event)
    if requestor.org_id is None:
        return NOT_AUTHORIZED, None
    if event.request.AffectedSOPClassUID != ModalityPerformedProcedureStep:
        return NO_SUCH_SOP_CLASS, None
    uid = str(event.request.AffectedSOPInstanceUID or generate_uid(prefix=None))
    if problem := uid_problem(uid):  # indexed whole or refused, never cut
        DIMSE.labels("N-CREATE", "invalid").inc()
        return _failure(INVALID_ATTRIBUTE_VALUE, f"Affected SOP Instance UID {problem}")
    try:
        data: Dataset = event.attribute_list
        _create(node, requestor, uid, data)
    except BadStep as exc:
        DIMSE.labels("N-CREATE", "invalid").inc()
        log.warning("MPPS N-CREATE refused", extra={"reason": str(exc)})
        return _failure(exc.status, str(exc))
    except DuplicateStep:
        DIMSE.labels("N-CREATE", "duplicate").inc()
        return DUPLICATE_SOP_INSTANCE, None
    except StorageError:
        DIMSE.labels("N-CREATE", "out_of_resources").inc()
        return OUT_OF_RESOURCES, None
    except DECODE_ERRORS as exc:
        DIMSE.labels("N-CREATE", "unreadable").inc()
        log.warning("MPPS N-CREATE refused", extra={"reason": type(exc).__name__})
        return _failure(PROCESSING_FAILURE, "the attribute list cannot be read")
    DIMSE.labels("N-CREATE", "success").inc()
    reply = Dataset()
    if event.request.AffectedSOPInstanceUID is None:
        reply.AffectedSOPInstanceUID = uid  # chosen here: the modality learns it (PS3.7 10.1.5)
    return SUCCESS, reply


def _create(node: Node, requestor: Requestor, uid: str, data: Dataset) -> None:
    assert requestor.org_id is not None
    zone = ZoneInfo(node.platform.settings.local_timezone)
    accession = accession_of_step(data)
    patient_id = text(data, "PatientID")
    with transaction(node.platform.sessions) as session:
        viewer = fhir_viewer(session, requestor.org_id)
        order = order_by_accession(session, viewer, accession) if accession else None
        if order is not None and order.content is not None:
            subject, content = order.content.get("subject"), order.content
        else:
            if accession:
                raise BadStep(PROCESSING_FAILURE, "no order has this accession number")
            system = f"urn:yilian:patient-id:{requestor.org_id}"
            patient = (
                by_identifier(session, "Patient", system, patient_id, viewer=viewer)
                if patient_id
                else None
            )
            if patient is None:
                raise BadStep(PROCESSING_FAILURE, "an unscheduled step of an unknown patient")
            subject, content = {"reference": f"Patient/{patient.id}"}, None
        procedure = new_procedure(
            new_id(), uid, data, content, subject or {}, requestor.org_id, zone
        )
        _valid(procedure)
        start_step(session, uid, requestor.org_id, requestor.ae_title, procedure, _index(procedure))
        node.audit_in(session, requestor, "N-CREATE", "success", procedure=procedure["id"])


def _valid(procedure: dict[str, Any]) -> None:
    problems = validate(procedure, "Procedure")
    if problems:
        first = problems[0]
        raise BadStep(PROCESSING_FAILURE, f"makes an invalid {first.expression}")


def _index(procedure: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    return index_rows(procedure, extract(procedure))


def handle_set(event: Event, node: Node) -> Result:
    requestor = node.requestor(event)
    if requestor.org_id is None:
        return NOT_AUTHORIZED, None
    uid = str(event.request.RequestedSOPInstanceUID or "")
    zone = ZoneInfo(node.platform.settings.local_timezone)
    try:
        changes: Dataset = event.modification_list
        with transaction(node.platform.sessions) as session:
            step = performed_step(session, uid)
            if step is None or step.org_id != requestor.org_id:
                DIMSE.labels("N-SET", "unknown").inc()
                return NO_SUCH_OBJECT_INSTANCE, None
            if step.status in FINAL:
                raise FinalStep(uid)
            status, procedure = changed_procedure(step.procedure.content or {}, changes, zone)
            if status is not None:
                _valid(procedure)
                set_step(session, step, status, procedure, _index(procedure))
            node.audit_in(session, requestor, "N-SET", "success", procedure=procedure["id"])
    except FinalStep:
        DIMSE.labels("N-SET", "final").inc()
        return _failure(
            PROCESSING_FAILURE, "the step may no longer be updated", NO_LONGER_UPDATABLE
        )
    except BadStep as exc:
        DIMSE.labels("N-SET", "invalid").inc()
        log.warning("MPPS N-SET refused", extra={"reason": str(exc)})
        return _failure(exc.status, str(exc))
    except VersionConflict:
        DIMSE.labels("N-SET", "conflict").inc()
        return _failure(PROCESSING_FAILURE, "the step changed meanwhile: send again")
    except StorageError:
        DIMSE.labels("N-SET", "out_of_resources").inc()
        return OUT_OF_RESOURCES, None
    except DECODE_ERRORS as exc:
        DIMSE.labels("N-SET", "unreadable").inc()
        log.warning("MPPS N-SET refused", extra={"reason": type(exc).__name__})
        return _failure(PROCESSING_FAILURE, "the modification list cannot be read")
    DIMSE.labels("N-SET", "success").inc()
    return SUCCESS, None


HANDLERS = [(evt.EVT_N_CREATE, handle_create), (evt.EVT_N_SET, handle_set)]
