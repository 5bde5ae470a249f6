"""Study ↔ order (检查与申请单对应): a stable study is linked to the order it answers.

- By its AccessionNumber: the one the order carries (given by the HIS, or by Yilian when it had
  none, and sent to the modality by the worklist) — an order of the study's organization, or
  one that organization's centre performs: the slides the pathology centre made from a member's
  specimens and scanned itself, a clinic's patient sent to the lead hospital's CT.
- Else by a link a person confirmed (``$link``).
- An ECG recording uploaded as HL7 aECG names its order itself (``$ingest-aecg?order=``).
- Else, when the patient, modality and date match exactly one open order of the study's
  organization, that order is proposed — the ImagingStudy names it as a ``candidate-order``
  for the centre to confirm; it is never linked silently.  A study matching nothing is listed
  with the unlinked ones (``ImagingStudy?basedon:missing=true``) to link or to order for.

A linked study's ``ImagingStudy`` is ``basedOn`` the order and names its patient, and the
order's reading Task moves to 待阅片 (images complete); a stat ECG is due from then
(:func:`gateway.workflow.ecg_reading.due_from_arrival`).  Called by the worker publishing a
stable study (``gateway.study_publish``) and by ``$link``, in their transaction.  The exam's
start and end come from the order's ``Procedure`` (MPPS), by ``reading.exam``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from fhir_profiles.profiles import CANONICAL
from gateway.errors import NotFound
from gateway.fhir.imaging_study import patient_id_system
from gateway.fhir.storing import store
from gateway.workflow import ecg_reading, reading
from gateway.workflow.orders import centre_of, reading_category
from storage.clinical import reading_milestones, study_links
from storage.db import transaction
from storage.dicom import StudyTree
from storage.exam_codes import order_modality
from storage.fhir import StoredResource, all_by_identifier, by_identifier, referencing
from storage.fhir import store as fhir_store
from storage.platform import Platform
from storage.policy import fhir_viewer

CANDIDATE = f"{CANONICAL}/StructureDefinition/candidate-order"


@dataclass(frozen=True)
class Match:
    order: StoredResource
    confirmed: bool  # False: a candidate, shown for confirmation


def match(session: Session, tree: StudyTree) -> Match | None:
    study = tree.study
    if study.accession_number:
        order = _by_accession(session, study.accession_number, study.org_id)
        if order is not None:
            return Match(order, True)
    link = study_links.link_of(session, study.study_uid)
    if link is not None and link.confirmed:
        order = fhir_store.read(session, "ServiceRequest", link.order_id)
        return Match(order, True) if order is not None and not order.deleted else None
    candidates = _candidates(session, tree)
    if len(candidates) != 1:
        return None
    study_links.propose(session, study.study_uid, candidates[0].id)
    return Match(candidates[0], False)


def shown(study: dict[str, Any], found: Match | None) -> dict[str, Any]:
    """The ImagingStudy as the answer of its order, or naming its candidate."""
    if found is None:
        return study
    if not found.confirmed:
        reference = {"reference": f"ServiceRequest/{found.order.id}"}
        return study | {"extension": [{"url": CANDIDATE, "valueReference": reference}]}
    subject = dict((found.order.content or {})["subject"])
    if study["subject"].get("display"):
        subject["display"] = study["subject"]["display"]
    order = {"reference": f"ServiceRequest/{found.order.id}"}
    return study | {"basedOn": [order], "subject": subject}


def images_complete(session: Session, found: Match | None, *, chest_pain: bool = False) -> None:
    """A linked order's reading Task waiting for its exam moves to 待阅片 (``chest_pain``: the
    clinic marked the ECG recording so; its Task is read stat)."""
    if found is None or not found.confirmed:
        return
    now = datetime.now(UTC)
    for row in reading_milestones.for_order(session, found.order.id):
        reading_milestones.stamp(session, row.task_id, "images-complete", now)
        work = reading.load(session, row.task_id)
        if work.state == "awaiting-exam":
            if chest_pain:
                ecg_reading.read_first(session, work)
            reading.move(work, "awaiting-reading")
            ecg_reading.due_from_arrival(session, work, now)
            store(session, work.content, work.task.owner_org_id)


def ecg_order(session: Session, org_id: str, reference: str) -> Match:
    """The open ECG order of ``org_id`` an uploaded recording answers (404 when it is not one)."""
    order = fhir_store.read(session, "ServiceRequest", reference.removeprefix("ServiceRequest/"))
    if order is None or order.owner_org_id != org_id or not _open(order):
        raise NotFound(f"{reference} is not an open order of the uploader")
    if reading_category(order.content or {}) != "ecg":
        raise NotFound(f"{reference} is not an ECG order")
    return Match(order, True)


def _by_accession(session: Session, number: str, org_id: str) -> StoredResource | None:
    """The open order with this accession number of ``org_id``; else the one open order with it
    that ``org_id`` may see and performs (its centre reads it)."""
    own = by_identifier(session, "ServiceRequest", None, number, owner_org_id=org_id)
    if own is not None and _open(own):
        return own
    visible = all_by_identifier(
        session, "ServiceRequest", None, number, fhir_viewer(session, org_id)
    )
    performed = [
        order for order in visible if _open(order) and _performer(session, order) == org_id
    ]
    return performed[0] if len(performed) == 1 else None


def _performer(session: Session, order: StoredResource) -> str | None:
    """The organization whose centre reads ``order``."""
    category = reading_category(order.content or {})
    centre = centre_of(session, order, category) if category else None
    return centre.org_id if centre is not None else None


def _open(order: StoredResource) -> bool:
    return (order.content or {}).get("status") == "active" and not order.deleted


def _candidates(session: Session, tree: StudyTree) -> list[StoredResource]:
    """Open imaging orders of the study's organization for the same patient, modality and
    day (the order's day or the next)."""
    study = tree.study
    patient = by_identifier(session, "Patient", patient_id_system(study.org_id),
                            tree.patient.patient_id, owner_org_id=study.org_id)  # fmt: skip
    if patient is None or len(study.study_date) != 8:
        return []
    day = datetime.strptime(study.study_date, "%Y%m%d").date()
    modalities = {m for m in study.modalities.split("\\") if m}
    orders = referencing(session, "ServiceRequest", "subject", [f"Patient/{patient.id}"],
                         fhir_viewer(session, study.org_id))  # fmt: skip
    found = []
    for order in orders:
        content = order.content or {}
        if order.owner_org_id != study.org_id or not _open(order):
            continue
        if reading_category(content) != "imaging":
            continue
        modality = order_modality(content)
        ordered = _day(content.get("occurrenceDateTime") or content.get("authoredOn"))
        if modality not in (None, *modalities) or ordered is None:
            continue
        if ordered <= day <= ordered + timedelta(days=1):
            found.append(order)
    return found


def _day(text: Any) -> Any:
    try:
        return datetime.fromisoformat(str(text)[:10]).date()
    except ValueError:
        return None


class _Exams:
    """``reading.exam`` (a ``yilian.fhir_listeners`` entry): a Procedure of an order — what
    MPPS records — tells the order's reading when the exam started and ended."""

    max_attempts = 20

    def wants(self, resource: dict[str, Any]) -> bool:
        return resource.get("resourceType") == "Procedure" and any(
            str(b.get("reference", "")).startswith("ServiceRequest/")
            for b in resource.get("basedOn", [])
        )


EXAMS = _Exams()


def on_exam(platform: Platform, payload: dict[str, Any]) -> None:
    """Worker handler for ``reading.exam``."""
    with transaction(platform.sessions) as session:
        procedure = fhir_store.read(session, "Procedure", payload["id"])
        content = procedure.content if procedure is not None else None
        if content is None:
            return
        period = content.get("performedPeriod") or {}
        started = _instant(period.get("start") or content.get("performedDateTime"))
        ended = _instant(period.get("end")) if content.get("status") == "completed" else None
        for based_on in content.get("basedOn", []):
            order_id = str(based_on.get("reference", "")).removeprefix("ServiceRequest/")
            for row in reading_milestones.for_order(session, order_id):
                if started is not None:
                    reading_milestones.stamp(session, row.task_id, "exam-started", started)
                if ended is not None:
                    reading_milestones.stamp(session, row.task_id, "exam-ended", ended)


def _instant(text: Any) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else None
