"""Study stability: a study that received no new instance for a while is "stable" (the modality
has finished sending).  One ``study.stable`` event is emitted per quiet period: again only if
more instances arrive later.  Forwarding and reading workflows start from that event; a second
event, ``study.publish``, lets the gateway write the study's FHIR ImagingStudy and precompute
its DICOMweb metadata before the first reader opens it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from storage.db import transaction
from storage.models import DicomStudy
from storage.outbox import enqueue

TOPIC = "study.stable"
PUBLISH_TOPIC = "study.publish"


def emit_stable_studies(
    sessions: sessionmaker[Session],
    quiet_for: timedelta,
    *,
    now: datetime | None = None,
    batch: int = 500,
) -> int:
    """Emit ``study.stable`` for every study quiet for ``quiet_for``; return how many.
    Concurrent workers skip each other's rows (PostgreSQL) or serialise (SQLite)."""
    cutoff = (now or datetime.now(UTC)) - quiet_for
    emitted = 0
    while True:
        with transaction(sessions) as session:
            due = session.scalars(
                select(DicomStudy)
                .where(
                    DicomStudy.last_received_at <= cutoff,
                    or_(
                        DicomStudy.stable_through.is_(None),
                        DicomStudy.stable_through < DicomStudy.last_received_at,
                    ),
                )
                .order_by(DicomStudy.last_received_at)
                .limit(batch)
                .with_for_update(skip_locked=True)
            ).all()
            for study in due:
                study.stable_through = study.last_received_at
                payload = {
                    "study_uid": study.study_uid,
                    "org_id": study.org_id,
                    "instance_count": study.instance_count,
                    "modalities": study.modalities,
                    "stable_through": study.last_received_at.isoformat(),
                }
                enqueue(session, TOPIC, payload)
                enqueue(session, PUBLISH_TOPIC, payload)
        emitted += len(due)
        if len(due) < batch:
            return emitted
