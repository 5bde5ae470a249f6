"""FHIR R4 ImagingStudy of a stored study, pointing at Yilian's DICOMweb service through an
Endpoint (``dicom-wado-rs``), so a HIS that finds the study can open its images."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from storage.dicom import StudyTree
from storage.models import DicomInstance, DicomPatient, DicomSeries
from storage.settings import Settings

DCM = "http://dicom.nema.org/resources/ontology/DCM"
ENDPOINT_ID = "yilian-dicomweb"
_FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


def dicomweb_endpoint(settings: Settings) -> dict[str, Any]:
    base = settings.public_url or f"http://{settings.host}:{settings.http_port}"
    return {
        "resourceType": "Endpoint",
        "id": ENDPOINT_ID,
        "status": "active",
        "connectionType": {
            "system": "http://terminology.hl7.org/CodeSystem/endpoint-connection-type",
            "code": "dicom-wado-rs",
        },
        "name": "Yilian DICOMweb (WADO-RS)",
        "payloadType": [{"text": "DICOM WADO-RS"}],
        "payloadMimeType": ["application/dicom"],
        "address": f"{base.rstrip('/')}/dicomweb",
    }


def imaging_study_id(study_uid: str) -> str:
    """The Study Instance UID itself when it is a valid FHIR id (it nearly always is)."""
    if _FHIR_ID.match(study_uid):
        return study_uid
    raise ValueError("Study Instance UID is not a valid FHIR id")


def patient_id_system(org_id: str) -> str:
    """Patient IDs are only unique per issuing organization: one identifier system each."""
    return f"urn:yilian:patient-id:{org_id}"


def _started(date: str, time: str, zone: ZoneInfo) -> str | None:
    if len(date) != 8:
        return None
    digits = (time.split(".")[0] + "000000")[:6] if time else "000000"
    try:
        moment = datetime.strptime(date + digits, "%Y%m%d%H%M%S").replace(tzinfo=zone)
    except ValueError:
        return None
    return moment.isoformat()


def display_name(person_name: str) -> str:
    """``Zhang^Sanfeng=张^三丰`` -> ``张三丰`` (Chinese order, no space); ``Li^Si`` -> ``Li Si``."""
    groups = person_name.split("=")
    if len(groups) > 1 and groups[1].strip("^ "):
        return "".join(part for part in groups[1].split("^") if part)
    return " ".join(part for part in groups[0].split("^") if part)


def subject_of(patient: DicomPatient) -> dict[str, Any]:
    """The reference to a stored study's patient: by the PatientID its organization issued
    (what every resource made from the study points at)."""
    return {
        "identifier": {"system": patient_id_system(patient.org_id), "value": patient.patient_id},
        "display": display_name(patient.name) or patient.patient_id,
    }


def _coding(modality: str) -> dict[str, str]:
    return {"system": DCM, "code": modality}


def imaging_study(tree: StudyTree, settings: Settings) -> dict[str, Any]:
    study = tree.study
    resource: dict[str, Any] = {
        "resourceType": "ImagingStudy",
        "id": imaging_study_id(study.study_uid),
        "identifier": [{"system": "urn:dicom:uid", "value": f"urn:oid:{study.study_uid}"}],
        "status": "available",
        "subject": subject_of(tree.patient),
        "endpoint": [{"reference": f"Endpoint/{ENDPOINT_ID}"}],
        "numberOfSeries": len(tree.series),
        "numberOfInstances": sum(len(instances) for _, instances in tree.series),
    }
    if study.accession_number:
        resource["identifier"].append(
            {
                "type": {
                    "coding": [
                        {"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "ACSN"}
                    ]
                },
                "value": study.accession_number,
            }
        )
    modalities = [m for m in study.modalities.split("\\") if m]
    if modalities:
        resource["modality"] = [_coding(m) for m in modalities]
    started = _started(study.study_date, study.study_time, ZoneInfo(settings.local_timezone))
    if started:
        resource["started"] = started
    if study.description:
        resource["description"] = study.description
    resource["series"] = [_series(series, instances) for series, instances in tree.series]
    return resource


def _series(series: DicomSeries, instances: list[DicomInstance]) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "uid": series.series_uid,
        "modality": _coding(series.modality or "OT"),
        "numberOfInstances": len(instances),
    }
    if series.series_number is not None:
        entry["number"] = series.series_number
    if series.description:
        entry["description"] = series.description
    if series.body_part:
        entry["bodySite"] = {"display": series.body_part}
    entry["instance"] = [
        {
            "uid": instance.sop_instance_uid,
            "sopClass": {
                "system": "urn:ietf:rfc:3986",
                "code": f"urn:oid:{instance.sop_class_uid}",
            },
            **(
                {"number": instance.instance_number} if instance.instance_number is not None else {}
            ),
        }
        for instance in instances
    ]
    return entry
