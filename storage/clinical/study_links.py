"""Studies and the orders they answer, where the accession number does not say it: a link a
person confirmed, or the one order a study seems to answer (a candidate, for confirmation)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from storage.models import StudyLink


def link_of(session: Session, study_uid: str) -> StudyLink | None:
    return session.get(StudyLink, study_uid)


def propose(session: Session, study_uid: str, order_id: str) -> None:
    """Keep ``order_id`` as the study's candidate, unless a person has linked it already."""
    link = session.get(StudyLink, study_uid)
    if link is None:
        session.add(StudyLink(study_uid=study_uid, order_id=order_id, confirmed=False,
                              at=datetime.now(UTC)))  # fmt: skip
    elif not link.confirmed:
        link.order_id, link.at = order_id, datetime.now(UTC)
    session.flush()


def confirm(session: Session, study_uid: str, order_id: str, by: str) -> None:
    link = session.get(StudyLink, study_uid)
    if link is None:
        link = StudyLink(study_uid=study_uid)
        session.add(link)
    link.order_id, link.confirmed, link.linked_by = order_id, True, by
    link.at = datetime.now(UTC)
    session.flush()
