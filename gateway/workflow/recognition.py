"""Which prior results are recognisable for an order (区域互认, 国卫医发〔2022〕6号).

A prior result — a ``DiagnosticReport`` or a lab ``Observation`` of the same person, held by
any member of the orderer's alliances (:func:`storage.policy.recognition_viewer`) — is
recognisable for an order when:

- the order and the result are the same item of the alliance's catalogue: an imaging or ECG
  order's modality and body site (a report's from the order it answers), a lab order's LOINC;
- the result is released: ``final``, ``amended`` or ``corrected`` (not preliminary,
  cancelled or entered in error);
- the institution that issued it (its performing organization) held a QC / EQA pass for the
  item's group on the day of the result (Beijing date);
- the order is placed inside the item's window, counted from when the result was obtained;
- it is the same person: the order's patient, a member's Patient the patient index links to
  it, or a member's Patient with the same 身份证号.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.clinical import recognition_marks
from storage.clinical.patient_matches import linked_patients
from storage.clinical.recognition import items_of, qualified
from storage.clinical.recognition_marks import (
    BEIJING,
    RELEASED,
    Asked,
    asked,
    matches,
    obtained,
)
from storage.fhir import StoredResource, referencing
from storage.fhir import store as fhir_store
from storage.fhir.lookups import all_by_identifier
from storage.identity_numbers import ID_CARD
from storage.models import Organization, RecognitionItem, RecognitionKind
from storage.policy import Viewer, recognition_viewer


@dataclass(frozen=True)
class Prior:
    """A recognisable prior result: its item, the result, who issued it, when it was obtained
    and until when it is recognisable."""

    item: RecognitionItem
    result: StoredResource
    org_id: str
    obtained: datetime
    until: datetime

    @property
    def reference(self) -> str:
        return f"{self.result.resource_type}/{self.result.id}"


def recognizable(session: Session, org_id: str, order: dict[str, Any], at: datetime) -> list[Prior]:
    """The priors recognisable for ``order`` (a draft or a placed ``ServiceRequest`` of
    ``org_id``) placed at ``at``, newest first."""
    items = [item for item in items_of(session, org_id) if matches(item, asked(order))]
    subject = str((order.get("subject") or {}).get("reference", ""))
    if not items or not subject.startswith("Patient/"):
        return []
    viewer = recognition_viewer(session, org_id)
    people = same_person(session, subject, viewer)
    order_ref = f"ServiceRequest/{order['id']}" if order.get("id") else None
    since = at - timedelta(days=max(item.window_days for item in items))
    found: list[Prior] = []
    for result, what in _results(session, people, viewer, items, since):
        if order_ref in _answered(result.content or {}):
            continue
        for item in items:
            prior = _prior(session, item, result, what, at)
            if prior is not None:
                found.append(prior)
    return sorted(found, key=lambda p: p.obtained, reverse=True)


def marked(session: Session, report: dict[str, Any], issuer: str) -> dict[str, Any]:
    """The released ``report`` with its recognition mark (互认标识: the extension the PDF
    prints, and a ``meta.tag``) when it is an item of the issuer's alliances' catalogue (by
    what its order asked and its images show) and the issuer was qualified for it on the day
    of the exam."""
    return recognition_marks.marked(session, report, issuer, report_asked(session, report))


def institution_names(session: Session, priors: list[Prior]) -> dict[str, str]:
    """The names of the institutions that issued ``priors``."""
    wanted = {p.org_id for p in priors}
    if not wanted:
        return {}
    rows = session.execute(
        select(Organization.id, Organization.name).where(Organization.id.in_(wanted))
    )
    return {org_id: name for org_id, name in rows.all()}


def same_person(session: Session, subject: str, viewer: Viewer) -> list[str]:
    """``Patient/…`` of ``subject``, of every Patient the patient index links to it (MATCH),
    and of every Patient ``viewer`` sees with its 身份证号 (a record the index has not reached
    yet); whose results ``viewer`` may see is still the policy's question."""
    patient_id = subject.removeprefix("Patient/")
    people = [subject, *(f"Patient/{p}" for p in sorted(linked_patients(session, patient_id)))]
    patient = fhir_store.read(session, "Patient", patient_id)
    for identifier in (patient.content or {}).get("identifier", []) if patient else []:
        if identifier.get("system") == ID_CARD and identifier.get("value"):
            people += [
                f"Patient/{p.id}"
                for p in all_by_identifier(session, "Patient", ID_CARD, identifier["value"], viewer)
            ]
    return list(dict.fromkeys(people))


def _results(
    session: Session,
    people: list[str],
    viewer: Viewer,
    items: list[RecognitionItem],
    since: datetime,
) -> list[tuple[StoredResource, Asked]]:
    """The people's released results obtained since ``since`` (the widest window of
    ``items``), with what each was for; older ones cannot be recognised, and what a report
    was for costs reading its order and images."""
    kinds = {item.kind for item in items}
    found: list[tuple[StoredResource, Asked]] = []
    if kinds - {RecognitionKind.LAB.value}:
        reports = _recent(
            referencing(session, "DiagnosticReport", "subject", people, viewer), since
        )
        found += [(r, report_asked(session, r.content or {})) for r in reports]
    if RecognitionKind.LAB.value in kinds:
        results = _recent(referencing(session, "Observation", "subject", people, viewer), since)
        found += [(r, asked(r.content or {})) for r in results]
    return found


def _recent(results: Iterable[StoredResource], since: datetime) -> Iterator[StoredResource]:
    for result in results:
        content = result.content or {}
        when = obtained(content)
        if content.get("status") in RELEASED and when is not None and when >= since:
            yield result


def _answered(resource: dict[str, Any]) -> set[str | None]:
    return {str(b.get("reference")) for b in resource.get("basedOn", []) if isinstance(b, dict)}


def report_asked(session: Session, report: dict[str, Any]) -> Asked:
    """What a report is for: what the order it answers asked (its code and body site), else
    its own code; the modality and body part of the images it reads fill in what the order's
    local codes do not say (DICOM BodyPartExamined, e.g. HEAD)."""
    ordered = asked(report)
    for reference in _answered(report):
        if reference and reference.startswith("ServiceRequest/"):
            order = fhir_store.read(session, "ServiceRequest", reference.split("/", 1)[1])
            if order is not None and order.content is not None:
                ordered = asked(order.content)
                break
    modalities, sites = set(), set(ordered.body_sites)
    for study_ref in report.get("imagingStudy", []):
        reference = str(study_ref.get("reference", ""))
        study = fhir_store.read(session, "ImagingStudy", reference.removeprefix("ImagingStudy/"))
        for series in (study.content or {}).get("series", []) if study else []:
            modalities.add((series.get("modality") or {}).get("code"))
            site = series.get("bodySite") or {}
            sites.update(v for v in (site.get("code"), site.get("display")) if v)
    modality = ordered.modality or (modalities.pop() if len(modalities) == 1 else None)
    return Asked(modality, frozenset(sites), ordered.loinc)


def _prior(
    session: Session, item: RecognitionItem, result: StoredResource, what: Asked, at: datetime
) -> Prior | None:
    content = result.content or {}
    when = obtained(content)
    issuer = _issuer(result)
    if when is None or issuer is None or not matches(item, what):
        return None
    until = when + timedelta(days=item.window_days)
    if at > until or not qualified(session, issuer, item.group, when.astimezone(BEIJING).date()):
        return None
    return Prior(item, result, issuer, when, until)


def _issuer(result: StoredResource) -> str | None:
    """The organization that issued the result: its performing organization, else its owner."""
    for performer in (result.content or {}).get("performer", []):
        reference = str(performer.get("reference", ""))
        if reference.startswith("Organization/"):
            return reference.removeprefix("Organization/")
    return result.owner_org_id
