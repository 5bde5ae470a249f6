"""Who sees which stored studies (DICOM): every study of the organizations a requester sees,
and the studies shared with them through their FHIR ImagingStudy — the images of a report
offered for recognition or sent with a referral go with the report."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, or_, select
from sqlalchemy.orm import Session

from storage.db import execute_plain
from storage.models import DicomStudy, FhirResource, FhirResourceGrant, FhirTokenIndex

# How an ImagingStudy names its study (written from DICOM: gateway.fhir.imaging_study).
UID_SYSTEM = "urn:dicom:uid"
UID_PREFIX = "urn:oid:"


@dataclass(frozen=True, slots=True)
class StudyAccess:
    """The stored studies a requester sees: those of ``orgs``, and ``studies`` (Study Instance
    UIDs) shared with it."""

    orgs: frozenset[str]
    studies: frozenset[str] = frozenset()

    def sees(self, org_id: Any, study_uid: Any) -> ColumnElement[bool]:
        """The SQL condition on a study's organization and Study Instance UID columns."""
        if not self.studies:
            return org_id.in_(self.orgs)
        return or_(org_id.in_(self.orgs), study_uid.in_(self.studies))


# Built once (SQLAlchemy builds a statement in Python; a frame request cannot afford it each
# time): the (UID, owner) pairs of ImagingStudies granted to ``orgs``, and the same for one
# study (``code``: its UID as the ImagingStudy names it).
_DESCRIBED = (
    select(FhirTokenIndex.code, FhirResource.owner_org_id)
    .join(
        FhirResourceGrant,
        and_(
            FhirResourceGrant.resource_type == FhirTokenIndex.resource_type,
            FhirResourceGrant.resource_id == FhirTokenIndex.resource_id,
        ),
    )
    .join(
        FhirResource,
        and_(
            FhirResource.resource_type == FhirTokenIndex.resource_type,
            FhirResource.id == FhirTokenIndex.resource_id,
        ),
    )
    .where(
        FhirTokenIndex.resource_type == "ImagingStudy",
        FhirTokenIndex.param == "identifier",
        FhirTokenIndex.system == UID_SYSTEM,
        FhirResourceGrant.org_id.in_(bindparam("orgs", expanding=True)),
        FhirResource.deleted.is_(False),
    )
)
_DESCRIBED_ONE = _DESCRIBED.where(FhirTokenIndex.code == bindparam("code"))
_STORED = select(DicomStudy.study_uid, DicomStudy.org_id).where(
    DicomStudy.study_uid.in_(bindparam("uids", expanding=True))
)


def shared_studies(
    session: Session, orgs: Collection[str], study_uid: str | None = None
) -> frozenset[str]:
    """The studies whose ImagingStudy is granted to one of ``orgs`` — only as the study's own
    organization describes it (an ImagingStudy owned by another names no study of ours).
    ``study_uid``: only whether that one study is (a retrieve names its study)."""
    parameters: dict[str, Any] = {"orgs": list(orgs)}
    statement = _DESCRIBED
    if study_uid is not None:
        statement, parameters["code"] = _DESCRIBED_ONE, UID_PREFIX + study_uid
    claims = {
        (code.removeprefix(UID_PREFIX), owner)
        for code, owner in execute_plain(session, statement, parameters)
        if code and code.startswith(UID_PREFIX)
    }
    if not claims:
        return frozenset()
    stored = execute_plain(session, _STORED, {"uids": sorted({uid for uid, _ in claims})})
    return frozenset(uid for uid, org in stored if (uid, org) in claims)


def with_images(session: Session, targets: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``targets`` (``(type, id)``) and the ImagingStudies their DiagnosticReports read
    (``imagingStudy``): whoever is given a report is given its images."""
    reports = [ident for kind, ident in targets if kind == "DiagnosticReport"]
    if not reports:
        return targets
    contents = session.scalars(
        select(FhirResource.content).where(
            FhirResource.resource_type == "DiagnosticReport",
            FhirResource.id.in_(reports),
            FhirResource.deleted.is_(False),
        )
    )
    studies = [
        ("ImagingStudy", reference.removeprefix("ImagingStudy/"))
        for content in contents
        for item in (content or {}).get("imagingStudy", [])
        if isinstance(item, dict)
        and isinstance(reference := item.get("reference"), str)
        and reference.startswith("ImagingStudy/")
    ]
    return [*targets, *studies]
