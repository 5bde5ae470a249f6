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

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from fhir_profiles.profiles import CANONICAL
from gateway.workflow.due import order_modality
from storage.clinical.patient_matches import linked_patients
from storage.clinical.recognition import items_of, qualified
from storage.fhir import StoredResource, referencing
from storage.fhir import store as fhir_store
from storage.fhir.lookups import all_by_identifier
from storage.identity_numbers import ID_CARD
from storage.models import Organization, RecognitionItem, RecognitionKind
from storage.policy import Viewer, recognition_viewer

LOINC = "http://loinc.org"
MARK_EXTENSION = f"{CANONICAL}/StructureDefinition/recognition-mark"
MARK_TAG = f"{CANONICAL}/CodeSystem/recognition-mark"
RELEASED = frozenset({"final", "amended", "corrected"})
BEIJING = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class Asked:
    """What an order (or the order a report answers) is for."""

    modality: str | None
    body_sites: frozenset[str]
    loinc: frozenset[str]


def asked(order: dict[str, Any]) -> Asked:
    sites = {
        str(coding["code"])
        for site in order.get("bodySite", [])
        for coding in site.get("coding", [])
        if coding.get("code")
    }
    codes = (order.get("code") or {}).get("coding", [])
    loinc = {str(c["code"]) for c in codes if c.get("system") == LOINC and c.get("code")}
    return Asked(order_modality(order), frozenset(sites), frozenset(loinc))


def matches(item: RecognitionItem, what: Asked) -> bool:
    wanted = item.matches
    if "loinc" in wanted:
        return wanted["loinc"] in what.loinc
    if wanted.get("modality") != what.modality:
        return False
    sites = set(wanted.get("body_sites", []))
    return not sites or bool(sites & what.body_sites)


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
    found: list[Prior] = []
    for result, what in _results(session, people, viewer, items):
        if order_ref in _answered(result.content or {}):
            continue
        for item in items:
            prior = _prior(session, item, result, what, at)
            if prior is not None:
                found.append(prior)
    return sorted(found, key=lambda p: p.obtained, reverse=True)


def marked(session: Session, report: dict[str, Any], issuer: str) -> dict[str, Any]:
    """The released ``report`` with its recognition mark (互认标识: the extension the PDF
    prints, and a ``meta.tag``) when it is an item of the issuer's alliances' catalogue and the
    issuer was qualified for it on the day of the exam."""
    obtained = _obtained(report)
    if obtained is None:
        return report
    day = obtained.astimezone(BEIJING).date()
    what = report_asked(session, report)
    for item in items_of(session, issuer):
        if matches(item, what) and qualified(session, issuer, item.group, day):
            extensions = [e for e in report.get("extension", []) if e.get("url") != MARK_EXTENSION]
            meta = report.get("meta", {})
            tags = [t for t in meta.get("tag", []) if t.get("system") != MARK_TAG]
            return report | {
                "extension": [*extensions, {"url": MARK_EXTENSION, "valueString": item.mark}],
                "meta": meta | {"tag": [*tags, {"system": MARK_TAG, "code": item.mark,
                                                "display": f"{item.name}（{item.mark}）"}]},
            }  # fmt: skip
    return report


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
    session: Session, people: list[str], viewer: Viewer, items: list[RecognitionItem]
) -> list[tuple[StoredResource, Asked]]:
    kinds = {item.kind for item in items}
    found = []
    if kinds - {RecognitionKind.LAB.value}:
        for report in referencing(session, "DiagnosticReport", "subject", people, viewer):
            found.append((report, report_asked(session, report.content or {})))
    if RecognitionKind.LAB.value in kinds:
        for observation in referencing(session, "Observation", "subject", people, viewer):
            found.append((observation, asked(observation.content or {})))
    return [(r, what) for r, what in found if (r.content or {}).get("status") in RELEASED]


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
    obtained = _obtained(content)
    issuer = _issuer(result)
    if obtained is None or issuer is None or not matches(item, what):
        return None
    until = obtained + timedelta(days=item.window_days)
    if at > until or not qualified(
        session, issuer, item.group, obtained.astimezone(BEIJING).date()
    ):
        return None
    return Prior(item, result, issuer, obtained, until)


def _obtained(resource: dict[str, Any]) -> datetime | None:
    """When the result was obtained: the exam or specimen time, else when it was issued."""
    value = (
        resource.get("effectiveDateTime")
        or (resource.get("effectivePeriod") or {}).get("start")
        or resource.get("issued")
    )
    if not isinstance(value, str) or len(value) < 10:
        return None
    if len(value) == 10:
        value += "T00:00:00+08:00"
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=BEIJING)


def _issuer(result: StoredResource) -> str | None:
    """The organization that issued the result: its performing organization, else its owner."""
    for performer in (result.content or {}).get("performer", []):
        reference = str(performer.get("reference", ""))
        if reference.startswith("Organization/"):
            return reference.removeprefix("Organization/")
    return result.owner_org_id
