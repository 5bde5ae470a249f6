"""Study ↔ order (检查与申请单对应): a stable study is linked to the order it answers by its
AccessionNumber — the one the order carries (given by the HIS, or by Yilian when it had none,
and sent to the modality by the worklist).  The study's ``ImagingStudy`` then is ``basedOn`` the
order and names its patient, and the order's reading Task moves to 待阅片 (images complete).

Called by the worker publishing a stable study (``gateway.study_publish``), in its
transaction; a study published again (more images) links the same way, and the Task moves once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from gateway.fhir.storing import store
from gateway.workflow import reading
from storage.clinical import reading_milestones
from storage.dicom import StudyTree
from storage.fhir import StoredResource, by_identifier


def linked_order(session: Session, tree: StudyTree) -> StoredResource | None:
    """The active order of the study's organization with the study's accession number."""
    accession = tree.study.accession_number
    if not accession:
        return None
    order = by_identifier(session, "ServiceRequest", None, accession,
                          owner_org_id=tree.study.org_id)  # fmt: skip
    if order is None or (order.content or {}).get("status") != "active":
        return None
    return order


def link(study: dict[str, Any], order: StoredResource) -> dict[str, Any]:
    """The ImagingStudy as the answer of ``order``."""
    subject = dict((order.content or {})["subject"])
    if study["subject"].get("display"):
        subject["display"] = study["subject"]["display"]
    return study | {"basedOn": [{"reference": f"ServiceRequest/{order.id}"}], "subject": subject}


def images_complete(session: Session, order: StoredResource) -> None:
    """The order's reading Task waiting for its exam moves to 待阅片."""
    now = datetime.now(UTC)
    for row in reading_milestones.for_order(session, order.id):
        reading_milestones.stamp(session, row.task_id, "images-complete", now)
        work = reading.load(session, row.task_id)
        if work.state == "awaiting-exam":
            reading.move(work, "awaiting-reading")
            store(session, work.content, work.task.owner_org_id)
