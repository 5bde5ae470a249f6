"""Worker handler for ``dicomweb.metadata``: build the series metadata documents of a study that
has become stable, so the first viewer to open it reads one cached document per series."""

from __future__ import annotations

from typing import Any

from storage.db import transaction
from storage.dicom_metadata import series_metadata
from storage.dicom_retrieve import find_instances, find_series
from storage.platform import Platform


def warm_study_metadata(platform: Platform, payload: dict[str, Any]) -> None:
    study_uid, orgs = payload["study_uid"], {payload["org_id"]}
    with transaction(platform.sessions) as session:
        for series in find_series(session, orgs, study_uid):
            series_metadata(
                platform.blobs,
                series,
                lambda uid=series.series_uid: find_instances(session, orgs, study_uid, uid),
            )
