"""Worker handler for ``study.publish`` (emitted with ``study.stable``): make a stable study
available to the gateway's readers before anyone asks — its FHIR ImagingStudy (pointing at the
DICOMweb Endpoint, linked to its order: :mod:`gateway.workflow.reconcile`) written or brought
up to date, the Observation of each ECG waveform in it (:mod:`gateway.ecg.publish`), and its
series metadata precomputed."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from gateway.ecg.publish import publish_ecgs
from gateway.fhir.imaging_study import dicomweb_endpoint, imaging_study
from gateway.fhir.storing import store_if_changed
from gateway.workflow import reconcile
from storage.db import transaction
from storage.dicom import find_instances, find_series, series_metadata, study_tree
from storage.platform import Platform
from storage.policy import StudyAccess


def publish_stable_study(platform: Platform, payload: dict[str, Any]) -> None:
    with transaction(platform.sessions) as session:
        publish(session, platform, payload["study_uid"], payload["org_id"])


def publish(session: Session, platform: Platform, study_uid: str, org_id: str) -> None:
    """The study's ImagingStudy (linked to its order when one is found), its ECGs'
    Observations and series metadata."""
    tree = study_tree(session, study_uid)
    if tree is None:
        return  # removed since it became stable
    store_if_changed(session, dicomweb_endpoint(platform.settings), None)
    found = reconcile.match(session, tree)
    study = reconcile.shown(imaging_study(tree, platform.settings), found)
    store_if_changed(session, study, tree.study.org_id)
    reconcile.images_complete(session, found)
    publish_ecgs(session, platform, tree)
    own = StudyAccess(frozenset({org_id}))
    for series in find_series(session, own, study_uid):
        series_metadata(
            platform.blobs,
            series,
            lambda uid=series.series_uid: find_instances(session, own, study_uid, uid),
        )
