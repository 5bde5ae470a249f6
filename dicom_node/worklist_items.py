"""A scheduled order as a Modality Worklist item: the attribute values a modality is answered.

Where each value comes from (FHIR R4 ServiceRequest and its Patient):

- PatientName: the patient's name as a PN with pinyin and characters (``person_names``);
  PatientID: the identifier of the ordering organization's system
  (``urn:yilian:patient-id:{org}``), else the first one; PatientBirthDate, PatientSex (M/F/O).
- AccessionNumber, RequestedProcedureID and ScheduledProcedureStepID: the order's accession
  number (identifier type ACSN): one order is one requested procedure of one step.
- RequestedProcedureDescription and ScheduledProcedureStepDescription: the order's code (text,
  else its first display); RequestedProcedurePriority from its priority.
- StudyInstanceUID: the one kept for the order (``storage.fhir.worklist``).
- ReferringPhysicianName: the requester's display; ScheduledPerformingPhysicianName: the display
  of a Practitioner(Role) performer.
- Modality: the first coding in DICOM's code system (DCM, e.g. ``CT``) of the order's code,
  else of a ``category``; none: answered empty.  Both are search-indexed, so a modality's
  query is narrowed to its modality in SQL (``orderDetail`` is not indexed: not used).
- ScheduledProcedureStepStartDate/Time: the order's ``occurrence`` (a dateTime or a Period's
  start), else ``authoredOn``, in the node's local time zone; a date alone has no time.
- ScheduledStationAETitle: orders are not scheduled on one station of the organization, so every
  modality of it is answered its own AE title.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from storage.dicom.person_names import from_human_name, from_text
from storage.fhir import ScheduledOrder

DCM = "http://dicom.nema.org/resources/ontology/DCM"
PRIORITY = {"stat": "STAT", "asap": "HIGH", "urgent": "HIGH", "routine": "ROUTINE"}
SEX = {"male": "M", "female": "F", "other": "O"}
# Keys of the worklist item and of its Scheduled Procedure Step.
ITEM_KEYS = (
    "PatientName", "PatientID", "PatientBirthDate", "PatientSex", "AccessionNumber",
    "RequestedProcedureID", "RequestedProcedureDescription", "RequestedProcedurePriority",
    "StudyInstanceUID", "ReferringPhysicianName",
)  # fmt: skip
STEP_KEYS = (
    "ScheduledStationAETitle", "ScheduledProcedureStepStartDate",
    "ScheduledProcedureStepStartTime", "Modality", "ScheduledPerformingPhysicianName",
    "ScheduledProcedureStepDescription", "ScheduledProcedureStepID",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Item:
    values: dict[str, str]  # ITEM_KEYS
    step: dict[str, str]  # STEP_KEYS


def worklist_item(scheduled: ScheduledOrder, station: str, zone: ZoneInfo) -> Item:
    order, patient = scheduled.order, scheduled.patient
    accession = scheduled.accession or ""
    date, time = _scheduled_at(order, zone)
    description = _description(order.get("code") or {})
    values = {
        "PatientName": from_human_name(patient.get("name") or []),
        "PatientID": _patient_id(patient, order),
        "PatientBirthDate": str(patient.get("birthDate") or "").replace("-", "")[:8],
        "PatientSex": SEX.get(str(patient.get("gender")), ""),
        "AccessionNumber": accession,
        "RequestedProcedureID": accession,
        "RequestedProcedureDescription": description,
        "RequestedProcedurePriority": PRIORITY.get(str(order.get("priority")), "ROUTINE"),
        "StudyInstanceUID": scheduled.study_uid,
        "ReferringPhysicianName": from_text(_display(order.get("requester"))),
    }
    step = {
        "ScheduledStationAETitle": station,
        "ScheduledProcedureStepStartDate": date,
        "ScheduledProcedureStepStartTime": time,
        "Modality": modality_of(order),
        "ScheduledPerformingPhysicianName": _performing_physician(order),
        "ScheduledProcedureStepDescription": description,
        "ScheduledProcedureStepID": accession,
    }
    return Item(values, step)


def modality_of(order: dict[str, Any]) -> str:
    concepts = [order.get("code") or {}, *order.get("category", [])]
    for concept in concepts:
        for coding in concept.get("coding", []):
            if coding.get("system") == DCM and coding.get("code"):
                return str(coding["code"])
    return ""


def _scheduled_at(order: dict[str, Any], zone: ZoneInfo) -> tuple[str, str]:
    period = order.get("occurrencePeriod") or {}
    text = order.get("occurrenceDateTime") or period.get("start") or order.get("authoredOn")
    if not text:
        return "", ""
    if len(text) <= 10:  # a day without a time (a month or a year: no day to answer)
        return (text.replace("-", "") if len(text) == 10 else ""), ""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return "", ""
    if moment.tzinfo is not None:
        moment = moment.astimezone(zone)
    return moment.strftime("%Y%m%d"), moment.strftime("%H%M%S")


def _description(code: dict[str, Any]) -> str:
    if code.get("text"):
        return str(code["text"])
    return next((str(c["display"]) for c in code.get("coding", []) if c.get("display")), "")


def _patient_id(patient: dict[str, Any], order: dict[str, Any]) -> str:
    identifiers = [i for i in patient.get("identifier", []) if i.get("value")]
    requester = str((order.get("requester") or {}).get("reference", ""))
    own = f"urn:yilian:patient-id:{requester.removeprefix('Organization/')}"
    chosen = next((i for i in identifiers if i.get("system") == own), None)
    chosen = chosen or next(
        (i for i in identifiers if str(i.get("system", "")).startswith("urn:yilian:patient-id:")),
        identifiers[0] if identifiers else None,
    )
    return str(chosen["value"]) if chosen else ""


def _display(reference: Any) -> str:
    return str(reference.get("display") or "") if isinstance(reference, dict) else ""


def _performing_physician(order: dict[str, Any]) -> str:
    for performer in order.get("performer", []):
        if str(performer.get("reference", "")).startswith(("Practitioner/", "PractitionerRole/")):
            return from_text(_display(performer))
    return ""
