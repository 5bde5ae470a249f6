"""Examination volumes (检查量): how many studies each kind of member did, by modality — the
studies the DICOM node received, counted by their study date (the day of the exam) and the
organization whose modality sent them."""

from __future__ import annotations

from collections import Counter
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import DicomStudy, Organization, OrgKind

GRASSROOTS = frozenset(
    kind.value
    for kind in (
        OrgKind.TOWNSHIP_HEALTH_CENTRE,
        OrgKind.COMMUNITY_HEALTH_CENTRE,
        OrgKind.VILLAGE_CLINIC,
    )
)
# Objects a study holds besides the exam's images: reports, presentation states, selections.
NOT_EXAMS = frozenset({"SR", "PR", "KO", "SEG", "REG", "DOC", "OT"})


def exam_modality(modalities: str) -> str:
    """The modality of the exam a study holds (``CT\\SR`` is a CT)."""
    found = [m for m in modalities.split("\\") if m]
    return next((m for m in found if m not in NOT_EXAMS), found[0] if found else "OT")


def volumes(session: Session, orgs: set[str], first: date, last: date) -> Counter[tuple[str, bool]]:
    """Studies of ``orgs`` done on the days ``first``…``last``: (modality, done at a grassroots
    member) -> how many."""
    rows = session.execute(
        select(DicomStudy.modalities, Organization.kind, func.count())
        .join(Organization, Organization.id == DicomStudy.org_id)
        .where(
            DicomStudy.org_id.in_(orgs),
            DicomStudy.study_date >= first.strftime("%Y%m%d"),
            DicomStudy.study_date <= last.strftime("%Y%m%d"),
        )
        .group_by(DicomStudy.modalities, Organization.kind)
    )
    found: Counter[tuple[str, bool]] = Counter()
    for modalities, kind, n in rows:
        found[(exam_modality(modalities), kind in GRASSROOTS)] += n
    return found
