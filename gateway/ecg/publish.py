"""Each ECG waveform object of a stable study kept as its ``Observation`` (called by
:func:`gateway.study_publish.publish`, in its transaction): one per SOP Instance, whose UID is
the Observation's id and ``urn:dicom:uid`` identifier, so publishing again changes nothing unless
the object did.  Owned by the study's organization, like its ImagingStudy (the same readers)."""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from pydicom.errors import InvalidDicomError
from sqlalchemy.orm import Session

from fhir_profiles.validation import validate
from gateway.ecg.dicom_waveform import is_ecg, recording
from gateway.ecg.observation import ecg_observation
from gateway.ecg.recording import UnreadableEcg
from gateway.fhir.imaging_study import imaging_study_id, subject_of
from gateway.fhir.storing import store_if_changed
from storage.dicom import DECODE_ERRORS, StudyTree, find_instances, read_full
from storage.platform import Platform
from storage.policy import StudyAccess

log = logging.getLogger(__name__)


def publish_ecgs(session: Session, platform: Platform, tree: StudyTree) -> None:
    if not any(is_ecg(i.sop_class_uid) for _, instances in tree.series for i in instances):
        return
    study = tree.study
    zone = ZoneInfo(platform.settings.local_timezone)
    own = StudyAccess(frozenset({study.org_id}))
    for ref in find_instances(session, own, study.study_uid):
        if not is_ecg(ref.sop_class_uid):
            continue
        try:
            read = recording(read_full(platform.blobs, ref), zone)
            id = imaging_study_id(ref.sop_instance_uid)
        except (UnreadableEcg, InvalidDicomError, *DECODE_ERRORS) as exc:
            reason = str(exc) if isinstance(exc, UnreadableEcg) else type(exc).__name__
            log.warning("ECG waveform not read", extra={"reason": reason})
            continue
        observation = ecg_observation(
            read,
            id=id,
            identifier={"system": "urn:dicom:uid", "value": f"urn:oid:{ref.sop_instance_uid}"},
            subject=subject_of(tree.patient),
            derived_from=f"ImagingStudy/{imaging_study_id(study.study_uid)}",
        )
        if problems := validate(observation, "Observation"):
            log.warning("ECG Observation not valid", extra={"problem": problems[0].message})
            continue
        store_if_changed(session, observation, study.org_id)
