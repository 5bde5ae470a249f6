"""The reading worklist as DICOM UPS workitems (PS3.4 CC, UPS-RS in PS3.18 11.x), for
reporting workstations that speak DICOM rather than FHIR — the dcm4chee way.  A workitem is a
reading Task seen through DICOM: its UID is the Task id as a UUID-derived UID (``2.25.…``), its
state the Task's, and every state change goes through :mod:`gateway.workflow.reading`:

=================  ==========================================  =========================
UPS state          reading state                              change through UPS-RS
=================  ==========================================  =========================
SCHEDULED          待检查, 待阅片                               IN PROGRESS = ``claim``
IN PROGRESS        阅片中                                       COMPLETED = ``submit``;
                                                               CANCELED = ``release``
COMPLETED          待审核, 已发布                               —
CANCELED           已退回, 已取消                               —
=================  ==========================================  =========================

Claiming names a Transaction UID (0008,1195); only a request carrying it may complete or give
back the work (PS3.4 CC.2.1.3), whoever else holds a token of the same reader.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydicom.dataset import Dataset
from pydicom.uid import UID
from sqlalchemy.orm import Session

from gateway.auth.tokens import Requester
from gateway.errors import BadRequest, Conflict, NotFound
from gateway.workflow import reading
from storage.clinical import reading_milestones
from storage.dicom.person_names import from_human_name
from storage.exam_codes import order_modality
from storage.fhir import store as fhir_store

UPS_PUSH = "1.2.840.10008.5.1.4.34.6.1"
STATE = {"awaiting-exam": "SCHEDULED", "awaiting-reading": "SCHEDULED", "reading": "IN PROGRESS",
         "awaiting-verification": "COMPLETED", "released": "COMPLETED",
         "returned": "CANCELED", "cancelled": "CANCELED"}  # fmt: skip
PRIORITY = {"stat": "HIGH", "asap": "HIGH", "urgent": "HIGH", "routine": "MEDIUM"}
READING_CODE = ("110005", "DCM", "Interpretation")  # PS3.16 CID 9231


def workitem_uid(task_id: str) -> str:
    return f"2.25.{uuid.UUID(task_id).int}"


def task_id(workitem: str) -> str:
    try:
        return str(uuid.UUID(int=int(workitem.removeprefix("2.25."))))
    except ValueError:
        raise NotFound(f"workitem {workitem} is not known") from None


def workitem(session: Session, work: reading.Work) -> Dataset:
    """The Task as a UPS workitem (the attributes a reporting workstation lists and opens)."""
    order = work.order
    patient = fhir_store.read(session, "Patient", work.content["for"]["reference"].split("/")[1])
    person = (patient.content or {}) if patient else {}
    row = reading_milestones.milestones(session, work.task.id)
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = UID(UPS_PUSH)
    ds.SOPInstanceUID = UID(workitem_uid(work.task.id))
    ds.ProcedureStepState = STATE.get(work.state, "SCHEDULED")
    ds.ScheduledProcedureStepPriority = PRIORITY.get(work.content.get("priority", ""), "MEDIUM")
    ds.ProcedureStepLabel = str((order.get("code") or {}).get("text", "远程诊断"))[:64]
    ds.WorklistLabel = work.centre.name[:64]
    ds.ScheduledProcedureStepStartDateTime = _dt(work.content.get("authoredOn"))
    ds.ExpectedCompletionDateTime = _dt(work.content["restriction"]["period"]["end"])
    ds.PatientName = from_human_name(person.get("name", []))
    ds.PatientID = next((str(i.get("value")) for i in person.get("identifier", [])), "")
    ds.PatientBirthDate = str(person.get("birthDate", "")).replace("-", "")
    ds.PatientSex = {"male": "M", "female": "F"}.get(str(person.get("gender")), "O")
    code = Dataset()
    code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = READING_CODE
    ds.ScheduledWorkitemCodeSequence = [code]
    request = Dataset()
    request.AccessionNumber = _accession(order)
    request.RequestedProcedureID = _accession(order)
    request.RequestedProcedureDescription = ds.ProcedureStepLabel
    request.StudyInstanceUID = ""
    ds.ReferencedRequestSequence = [request]
    modality = order_modality(order)
    if modality:
        ds.Modality = modality
    if row is not None and row.claimed_at is not None and work.owner_user:
        performer = Dataset()
        performer.HumanPerformerName = work.content["owner"].get("display", work.owner_user)
        ds.ActualHumanPerformersSequence = [performer]
    return ds


def change_state(session: Session, requester: Requester, work: reading.Work, body: Any) -> None:
    """``PUT …/workitems/{uid}/state``: IN PROGRESS claims (with a new Transaction UID),
    COMPLETED submits the drafted report, CANCELED gives the work back (both with it)."""
    try:
        given = Dataset.from_json(body)
        wanted, transaction = str(given.ProcedureStepState), str(given.TransactionUID)
    except (AttributeError, TypeError, ValueError, KeyError):
        needed = "send ProcedureStepState (0074,1000) and TransactionUID (0008,1195)"
        raise BadRequest(needed) from None
    if not transaction or len(transaction) > 64:
        raise BadRequest("TransactionUID must be a UID")
    row = reading_milestones.milestones(session, work.task.id)
    assert row is not None
    if wanted == "IN PROGRESS":
        reading.claim(session, requester, work)
        row.ups_transaction = transaction
        return
    if row.ups_transaction != transaction:
        raise Conflict("the Transaction UID does not match the one that claimed this workitem")
    if wanted == "COMPLETED":
        reading.submit(session, requester, work, None)
    elif wanted == "CANCELED":
        reading.release(session, requester, work)
    else:
        raise BadRequest("ProcedureStepState is IN PROGRESS, COMPLETED or CANCELED")
    row.ups_transaction = None


def _dt(text: Any) -> str:
    """A FHIR instant as a DICOM DT with its offset (``20261202083000+0800``)."""
    try:
        moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return ""
    return moment.strftime("%Y%m%d%H%M%S%z")


def _accession(order: dict[str, Any]) -> str:
    for identifier in order.get("identifier", []):
        if any(c.get("code") == "ACSN" for c in (identifier.get("type") or {}).get("coding", [])):
            return str(identifier.get("value", ""))[:16]
    return ""
