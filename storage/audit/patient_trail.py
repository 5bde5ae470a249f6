"""Who looked at this patient's data: the access records that touched a patient.

A record names what it touched the way its channel knows it — a FHIR resource (``Patient/7``,
or the ids a search returned), the resources an HL7 message wrote, a DICOM study by its UID.
The patient's *footprint* is every one of those names that belongs to them: the Patient
itself, every resource that refers to it (from the reference index), the DICOM studies of the
patient ids it carries (``urn:yilian:patient-id:{org}``) and their ``ImagingStudy``
resources.  Records are narrowed in SQL by organization, actor and time, then matched against
the footprint, newest first, looking at no more than ``SCAN_LIMIT`` records per search (a
search over a long period says when it stopped early).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.audit.records import AuditQuery, find_records
from storage.models import (
    AuditRecord,
    DicomPatient,
    DicomStudy,
    FhirReferenceIndex,
    FhirTokenIndex,
)

SCAN_LIMIT = 20_000
_BATCH = 1000
_UID = "urn:oid:"
# How an organization's own patient ids are written as Patient.identifier systems.
PATIENT_ID_SYSTEM = "urn:yilian:patient-id:"


@dataclass(frozen=True)
class Footprint:
    references: frozenset[str]  # "Type/id"
    study_uids: frozenset[str]


@dataclass(frozen=True)
class PatientTrail:
    records: list[AuditRecord]
    scanned_all: bool  # False: SCAN_LIMIT records were looked at before the period's start


def footprint(session: Session, patient_id: str) -> Footprint:
    patient = f"Patient/{patient_id}"
    referring = session.execute(
        select(FhirReferenceIndex.resource_type, FhirReferenceIndex.resource_id)
        .where(FhirReferenceIndex.target == patient)
        .distinct()
    ).all()
    references = {patient, *(f"{kind}/{rid}" for kind, rid in referring)}
    # The images: DICOM studies of the patient as each organization identifies them
    # (Patient.identifier urn:yilian:patient-id:{org}), and their ImagingStudy resources.
    issued = session.execute(
        select(FhirTokenIndex.system, FhirTokenIndex.code).where(
            FhirTokenIndex.resource_type == "Patient",
            FhirTokenIndex.resource_id == patient_id,
            FhirTokenIndex.param == "identifier",
            FhirTokenIndex.system.startswith(PATIENT_ID_SYSTEM),
        )
    ).all()
    study_uids: set[str] = set()
    for system, code in issued:
        study_uids.update(
            session.scalars(
                select(DicomStudy.study_uid)
                .join(DicomPatient, DicomPatient.id == DicomStudy.patient_pk)
                .where(
                    DicomPatient.org_id == system.removeprefix(PATIENT_ID_SYSTEM),
                    DicomPatient.patient_id == code,
                )
            )
        )
    studies = session.scalars(
        select(FhirTokenIndex.resource_id).where(
            FhirTokenIndex.resource_type == "ImagingStudy",
            FhirTokenIndex.param == "identifier",
            FhirTokenIndex.code.in_([f"{_UID}{uid}" for uid in study_uids]),
        )
    )
    references.update(f"ImagingStudy/{rid}" for rid in studies)
    return Footprint(frozenset(references), frozenset(study_uids))


def _touched(entities: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """What a record touched, as ("ref", "Type/id") and ("uid", study UID) pairs."""
    kind = entities.get("resource_type")
    if isinstance(kind, str):
        if isinstance(entities.get("id"), str):
            yield "ref", f"{kind}/{entities['id']}"
        for found in entities.get("ids") or []:
            yield "ref", f"{kind}/{found}"
    for key in ("included", "resources"):
        for reference in entities.get(key) or []:
            if isinstance(reference, str):
                yield "ref", reference
    for key in ("study_uid", "study"):
        if isinstance(entities.get(key), str):
            yield "uid", entities[key]
    for uid in entities.get("studies") or []:
        if isinstance(uid, str):
            yield "uid", uid


def touches(record: AuditRecord, trail: Footprint) -> bool:
    for kind, value in _touched(record.entities or {}):
        if value in (trail.references if kind == "ref" else trail.study_uids):
            return True
    return False


def records_about(session: Session, query: AuditQuery, patient_id: str) -> PatientTrail:
    """The records matching ``query`` that touched the patient, newest first."""
    trail = footprint(session, patient_id)
    wanted = query.offset + query.limit
    matched: list[AuditRecord] = []
    scanned = 0
    while scanned < SCAN_LIMIT:
        batch = find_records(session, replace(query, limit=_BATCH, offset=scanned))
        scanned += len(batch)
        matched += [row for row in batch if touches(row, trail)]
        if len(matched) >= wanted or len(batch) < _BATCH:
            return PatientTrail(matched[query.offset : wanted], True)
    return PatientTrail(matched[query.offset : wanted], False)
