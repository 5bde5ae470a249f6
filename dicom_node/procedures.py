"""An exam's FHIR ``Procedure`` from its Modality Performed Procedure Step (PS3.3 C.4.13).

- ``identifier``: the MPPS SOP Instance UID (``urn:dicom:uid``);
- ``basedOn``: the order whose accession number the step's Scheduled Step Attributes name;
  ``subject``: that order's patient (an unscheduled step: the ordering organization's patient
  with the step's PatientID);
- ``status``: IN PROGRESS -> ``in-progress``, COMPLETED -> ``completed``, DISCONTINUED ->
  ``not-done`` with ``statusReason`` from the discontinuation reason code;
- ``performedPeriod``: PerformedProcedureStepStart/End Date and Time, in the node's time zone;
- ``performer``: the modality's organization; ``code``: the order's, else the step's
  description.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydicom.dataset import Dataset

from dicom_node.status import INVALID_ATTRIBUTE_VALUE, MISSING_ATTRIBUTE, MISSING_ATTRIBUTE_VALUE
from storage.fhir.performed_steps import COMPLETED, DISCONTINUED, IN_PROGRESS

FHIR_STATUS = {IN_PROGRESS: "in-progress", COMPLETED: "completed", DISCONTINUED: "not-done"}
DCM = "http://dicom.nema.org/resources/ontology/DCM"
UID_SYSTEM = "urn:dicom:uid"


class BadStep(ValueError):
    """The step's attributes cannot make a Procedure: ``status`` is the DIMSE failure."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


def text(data: Dataset, keyword: str, *, required: bool = False) -> str:
    if keyword not in data:
        if required:
            raise BadStep(MISSING_ATTRIBUTE, f"{keyword} is missing")
        return ""
    value = data[keyword].value
    value = "" if value is None else str(value).strip()
    if required and not value:
        raise BadStep(MISSING_ATTRIBUTE_VALUE, f"{keyword} is empty")
    return value


def moment(data: Dataset, which: str, zone: ZoneInfo, *, required: bool) -> str | None:
    """``PerformedProcedureStep{which}Date`` + ``…Time`` as a FHIR dateTime."""
    day = text(data, f"PerformedProcedureStep{which}Date", required=required)
    time = text(data, f"PerformedProcedureStep{which}Time", required=required)
    if not day and not time:
        return None
    digits = (time.replace(":", "").split(".")[0] + "000000")[:6]
    try:
        value = datetime.strptime(day + digits, "%Y%m%d%H%M%S").replace(tzinfo=zone)
    except ValueError:
        raise BadStep(INVALID_ATTRIBUTE_VALUE, f"{which} date/time is not a date") from None
    return value.isoformat()


def accession_of_step(data: Dataset) -> str:
    """The first accession number of the step's Scheduled Step Attributes (required)."""
    if "ScheduledStepAttributesSequence" not in data:
        raise BadStep(MISSING_ATTRIBUTE, "ScheduledStepAttributesSequence is missing")
    items = data.ScheduledStepAttributesSequence
    if not items:
        raise BadStep(MISSING_ATTRIBUTE_VALUE, "ScheduledStepAttributesSequence is empty")
    return next((a for item in items if (a := text(item, "AccessionNumber"))), "")


def new_procedure(
    procedure_id: str,
    sop_instance_uid: str,
    data: Dataset,
    order: dict[str, Any] | None,
    subject: dict[str, Any],
    org_id: str,
    zone: ZoneInfo,
) -> dict[str, Any]:
    """The Procedure of an N-CREATE (its status must be IN PROGRESS)."""
    status = text(data, "PerformedProcedureStepStatus", required=True)
    if status != IN_PROGRESS:
        raise BadStep(INVALID_ATTRIBUTE_VALUE, "a step is created IN PROGRESS")
    start = moment(data, "Start", zone, required=True)
    resource: dict[str, Any] = {
        "resourceType": "Procedure",
        "id": procedure_id,
        "identifier": [{"system": UID_SYSTEM, "value": f"urn:oid:{sop_instance_uid}"}],
        "status": FHIR_STATUS[IN_PROGRESS],
        "subject": subject,
        "performedPeriod": {"start": start},
        "performer": [{"actor": {"reference": f"Organization/{org_id}"}}],
    }
    if order is not None:
        resource["basedOn"] = [{"reference": f"ServiceRequest/{order['id']}"}]
    code = (order or {}).get("code") or _described(data)
    if code:
        resource["code"] = code
    return resource


def _described(data: Dataset) -> dict[str, Any] | None:
    description = text(data, "PerformedProcedureStepDescription")
    return {"text": description} if description else None


def changed_procedure(
    current: dict[str, Any], changes: Dataset, zone: ZoneInfo
) -> tuple[str | None, dict[str, Any]]:
    """The step's new state (None: unchanged) and its Procedure after an N-SET."""
    resource = {k: v for k, v in current.items() if k != "meta"}
    status = text(changes, "PerformedProcedureStepStatus") or None
    if status is None or status == IN_PROGRESS:
        return None, resource
    if status not in (COMPLETED, DISCONTINUED):
        raise BadStep(INVALID_ATTRIBUTE_VALUE, "not a Performed Procedure Step Status")
    end = moment(changes, "End", zone, required=True)
    resource["status"] = FHIR_STATUS[status]
    resource["performedPeriod"] = {**resource.get("performedPeriod", {}), "end": end}
    if status == DISCONTINUED:
        reason = _reason(changes)
        if reason:
            resource["statusReason"] = reason
    return status, resource


def _reason(changes: Dataset) -> dict[str, Any] | None:
    items = changes.get("PerformedProcedureStepDiscontinuationReasonCodeSequence") or []
    if not items:
        return None
    item = items[0]
    coding = {
        "system": DCM if text(item, "CodingSchemeDesignator") == "DCM" else None,
        "code": text(item, "CodeValue") or None,
        "display": text(item, "CodeMeaning") or None,
    }
    coding = {k: v for k, v in coding.items() if v}
    concept: dict[str, Any] = {"coding": [coding]} if coding.get("code") else {}
    if coding.get("display"):
        concept["text"] = coding["display"]
    return concept or None
