"""Worker handler for ``study.publish`` (emitted with ``study.stable``): make a stable study
available to the gateway's readers before anyone asks — its FHIR ImagingStudy (pointing at the
DICOMweb Endpoint, linked to its order: :mod:`gateway.workflow.reconcile`) written or brought
up to date, and its series metadata precomputed."""

from __future__ import annotations

from typing import Any

from gateway.fhir.imaging_study import dicomweb_endpoint, imaging_study
from gateway.fhir.storing import store_if_changed
from gateway.workflow import reconcile
from storage.db import transaction
from storage.dicom import find_instances, find_series, series_metadata, study_tree
from storage.platform import Platform


def publish_stable_study(platform: Platform, payload: dict[str, Any]) -> None:
    study_uid, orgs = payload["study_uid"], {payload["org_id"]}
    with transaction(platform.sessions) as session:
        tree = study_tree(session, study_uid)
        if tree is None:
            return  # removed since it became stable
        store_if_changed(session, dicomweb_endpoint(platform.settings), None)
        study = imaging_study(tree, platform.settings)
        order = reconcile.linked_order(session, tree)
        if order is not None:
            study = reconcile.link(study, order)
        store_if_changed(session, study, tree.study.org_id)
        if order is not None:
            reconcile.images_complete(session, order)
        for series in find_series(session, orgs, study_uid):
            series_metadata(
                platform.blobs,
                series,
                lambda uid=series.series_uid: find_instances(session, orgs, study_uid, uid),
            )
