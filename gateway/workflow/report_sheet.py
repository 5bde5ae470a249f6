"""A signed report as people read it: the PDF of :mod:`gateway.reports.pdf` filled from the
report, its order, patient, centre and milestones, attached to the report as its
``presentedForm`` when it is verified or amended (an ECG report with its measurements and
12-lead chart: :func:`gateway.workflow.ecg_reading.printed`; a pathology report with its
sections: :func:`gateway.workflow.pathology_reading.sections`), supplements (补充报告) after
the report.  Times are Beijing time (China
has one time zone), written ``2026-12-02 14:05``; an identity number is masked."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from gateway.reports.pdf import Sheet, render
from gateway.workflow import ecg_reading, pathology_reading
from gateway.workflow.form_text import (
    age_text,
    local_minute,
    moment,
    patient_name,
    sex_text,
)
from gateway.workflow.reading_report import FINDINGS
from gateway.workflow.report_supplement import supplements
from storage.clinical import reading_milestones
from storage.clinical.recognition_marks import mark_of
from storage.fhir import store as fhir_store
from storage.models import Organization

if TYPE_CHECKING:
    from gateway.workflow.reading import Work

TITLES = {"imaging": "影像诊断报告", "ecg": "心电图诊断报告", "pathology": "病理诊断报告"}


def presented_form(
    session: Session, work: Work, report: dict[str, Any], amendment: str = ""
) -> dict[str, Any]:
    sheet = sheet_of(session, work, report, amendment)
    return {
        "contentType": "application/pdf",
        "language": "zh-CN",
        "data": base64.b64encode(render(sheet)).decode(),
        "title": f"{sheet.hospital}{sheet.title}",
        "creation": report["issued"],
    }


def sheet_of(session: Session, work: Work, report: dict[str, Any], amendment: str = "") -> Sheet:
    patient = _patient(session, work.order)
    row = reading_milestones.milestones(session, work.task.id)
    examined = moment(report.get("effectiveDateTime"))
    hospital = session.get(Organization, work.centre.org_id)
    ordering = session.get(Organization, work.order_org) if work.order_org else None
    author = next((p.get("display", "") for p in report.get("performer", [])
                   if str(p.get("reference", "")).startswith("Practitioner/")), "")  # fmt: skip
    verifier = (report.get("resultsInterpreter") or [{}])[0].get("display", "")
    findings, figure = _extension(report, FINDINGS), None
    if ecg_reading.is_ecg(work):
        measured, figure = ecg_reading.printed(session, report)
        findings = "\n".join(part for part in (measured, findings) if part)
    sections = [("检查所见", findings), ("诊断意见", str(report.get("conclusion", "")))]
    if pathology_reading.is_pathology(work):
        sections = pathology_reading.sections(report)
    for time, text, by in supplements(report):
        when = " ".join(part for part in (local_minute(moment(time)), by) if part)
        sections.append((f"补充报告（{when}）", text))
    if amendment:
        sections.append(("更正说明", amendment))
    return Sheet(
        hospital=hospital.name if hospital else work.centre.name,
        centre=work.centre.name.removeprefix(hospital.name if hospital else ""),
        title=TITLES.get(work.centre.kind, "诊断报告"),
        mark=mark_of(report) or "",
        patient=patient_name(patient),
        sex=sex_text(patient),
        age=age_text(patient.get("birthDate"), examined),
        patient_id=_patient_id(patient),
        ordering=ordering.name if ordering else "",
        exam=str((report.get("code") or {}).get("text") or _display(report.get("code"))),
        accession=_accession(work.order),
        examined=local_minute(examined),
        sections=tuple(sections),
        author=author,
        authored=local_minute(row.preliminary_at if row else None),
        verifier=verifier,
        verified=local_minute(moment(report.get("issued"))),
        figure=figure,
    )


def _patient(session: Session, order: dict[str, Any]) -> dict[str, Any]:
    reference = str((order.get("subject") or {}).get("reference", ""))
    found = fhir_store.read(session, "Patient", reference.removeprefix("Patient/"))
    return (found.content or {}) if found is not None else {}


def _patient_id(patient: dict[str, Any]) -> str:
    for identifier in patient.get("identifier", []):
        value = str(identifier.get("value", ""))
        if len(value) == 18 and value[:17].isdigit():  # 身份证号: never printed whole
            return value[:6] + "*" * 8 + value[-4:]
        if value:
            return value
    return ""


def _accession(order: dict[str, Any]) -> str:
    for identifier in order.get("identifier", []):
        if any(c.get("code") == "ACSN" for c in (identifier.get("type") or {}).get("coding", [])):
            return str(identifier.get("value", ""))
    return ""


def _extension(report: dict[str, Any], url: str) -> str:
    for extension in report.get("extension", []):
        if extension.get("url") == url:
            return str(extension.get("valueString", ""))
    return ""


def _display(concept: Any) -> str:
    codings = (concept or {}).get("coding", [])
    return str(codings[0].get("display", "")) if codings else ""
