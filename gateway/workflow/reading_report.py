"""The report of a reading and its records: the ``DiagnosticReport`` a reader drafts and a
senior signs, the ``Provenance`` of each signing, and the note to the requester when a released
report is amended.  What the client wrote is kept (findings, impression, coded conclusion, key
images); what makes it a signed report of this centre for this order the server sets."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from fhir_profiles.profiles import CANONICAL
from gateway.errors import Unprocessable
from gateway.fhir.storing import store_valid
from gateway.workflow import ecg_reading, pathology_reading
from gateway.workflow.report_supplement import supplemented
from storage.clinical import reading_milestones
from storage.clinical.recognition_marks import RELEASED
from storage.fhir import StoredResource, instant, new_id, referencing
from storage.fhir import store as fhir_store
from storage.models import User
from storage.policy import fhir_viewer

if TYPE_CHECKING:
    from gateway.workflow.reading import Work

REPORT_PROFILE = f"{CANONICAL}/StructureDefinition/yilian-diagnostic-report"
FINDINGS = f"{CANONICAL}/StructureDefinition/report-findings"
STEP = f"{CANONICAL}/CodeSystem/reading-step"
RETURN_REASON = f"{CANONICAL}/CodeSystem/return-reason"
RETURN_REASONS = {
    "image-quality": "图像质量不合格",
    "wrong-body-part": "检查部位或方法不符",
    "missing-history": "病史资料不全",
    "incomplete-series": "图像不完整",
    "other": "其他",
}
STEPS = {"preliminary": "初步报告提交审核", "verified": "审核签发", "amended": "报告更正",
         "appended": "补充报告"}  # fmt: skip
# What a reader writes; everything else of the report (its PDF too) is the server's to set.
WRITTEN = ("extension", "code", "conclusion", "conclusionCode", "media", "contained")
# HL7 v2 table 0074 (diagnostic service section) by centre kind.
SECTION = {"imaging": ("RAD", "Radiology"), "ecg": ("EC", "Electrocardiac"),
           "pathology": ("SP", "Surgical Pathology")}  # fmt: skip
PARTICIPANT = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
SIGNATURE = "urn:iso-astm:E1762-95:2013"
SIGNATURES = {"preliminary": ("1.2.840.10065.1.12.1.1", "Author's Signature"),
              "verified": ("1.2.840.10065.1.12.1.5", "Verification Signature"),
              "amended": ("1.2.840.10065.1.12.1.5", "Verification Signature"),
              "appended": ("1.2.840.10065.1.12.1.5", "Verification Signature")}  # fmt: skip
# A contained result's status as its report's: Observation has no "appended".
RESULT_STATUS = {"appended": "final"}


def current_report(session: Session, task: dict[str, Any]) -> StoredResource | None:
    for output in task.get("output", []):
        reference = str((output.get("valueReference") or {}).get("reference", ""))
        if reference.startswith("DiagnosticReport/"):
            found = fhir_store.read(session, "DiagnosticReport", reference.split("/", 1)[1])
            if found is not None and not found.deleted:
                return found
    return None


def task_answered(session: Session, report: dict[str, Any] | None) -> str | None:
    """The open (else the latest) reading Task of the order a report is ``basedOn``."""
    for based_on in (report or {}).get("basedOn", []):
        reference = str(based_on.get("reference", ""))
        if reference.startswith("ServiceRequest/"):
            rows = reading_milestones.for_order(session, reference.split("/", 1)[1])
            rows.sort(key=lambda r: (r.finished_at is None, r.ordered_at))
            if rows:
                return rows[-1].task_id
    return None


def delivered(session: Session, report: dict[str, Any] | None, to_org: str | None) -> None:
    """A signed report of a reading reached the ordering organization (its Subscription)."""
    task_id = task_answered(session, report) if report else None
    row = reading_milestones.milestones(session, task_id) if task_id else None
    signed = (report or {}).get("status") in RELEASED
    if row is not None and signed and row.requester_org_id == to_org:
        reading_milestones.stamp(session, row.task_id, "delivered", datetime.now(UTC))


def author_of(report: StoredResource | None) -> str | None:
    for performer in (report.content or {}).get("performer", []) if report else []:
        reference = str(performer.get("reference", ""))
        if reference.startswith("Practitioner/"):
            return reference.removeprefix("Practitioner/")
    return None


def draft(
    session: Session, work: Work, author: User, given: dict[str, Any] | None
) -> dict[str, Any]:
    """The preliminary report: ``given`` (or the draft the author saved) with this order's
    patient, category, exam time and the author as performer."""
    base = _written(work.report.content if work.report else {})
    if given is not None:
        base = _written(_checked(given))
    studies = _studies(session, work)
    base = _completed(session, work, base, studies)
    if not base.get("conclusion") and not _findings(base):
        raise Unprocessable("a report needs its findings or its impression (conclusion)", [])
    order = work.order
    kind = work.centre.kind
    code, display = SECTION.get(kind, ("OTH", "Other"))
    report = {
        "resourceType": "DiagnosticReport",
        "id": work.report.id if work.report else new_id(),
        "meta": {"profile": [REPORT_PROFILE]},
        **{k: v for k, v in base.items() if k != "code"},
        "basedOn": [{"reference": f"ServiceRequest/{order['id']}"}],
        "status": "preliminary",
        "category": [
            {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074",
                         "code": code, "display": display}]},
            {"coding": [{"system": f"{CANONICAL}/CodeSystem/exam-category", "code": kind}]},
        ],
        "code": base.get("code") or order.get("code") or {"text": "检查报告"},
        "subject": order["subject"],
        "effectiveDateTime": _exam_time(session, work),
        "issued": instant(datetime.now(UTC)),
        "performer": [
            {"reference": f"Practitioner/{author.username}", "display": author.display_name},
            {"reference": f"Organization/{work.centre.org_id}", "display": work.centre.name},
        ],
    }  # fmt: skip
    if studies:
        report["imagingStudy"] = studies
    return report


def final(
    session: Session, work: Work, verifier: User, given: dict[str, Any] | None
) -> dict[str, Any]:
    """The verified report: the senior's revision if any, ``final``, the verifier named."""
    if work.report is None or work.report.content is None:
        raise Unprocessable("this task has no submitted report to verify", [])
    current = {k: v for k, v in work.report.content.items() if k != "meta"}
    if given is not None:
        current = _revised(work, current, given)
        current = _completed(session, work, current, _studies(session, work))
    return _signed(current, verifier, "final")


def amended(
    session: Session, work: Work, verifier: User, given: dict[str, Any], kind: str
) -> dict[str, Any]:
    if work.report is None or work.report.content is None:
        raise Unprocessable("this task has no released report to amend", [])
    current = {k: v for k, v in work.report.content.items() if k != "meta"}
    if kind == "appended":
        current = supplemented(current, _checked(given), verifier)
    else:
        current = _revised(work, current, given)
    current = _completed(session, work, current, _studies(session, work))
    return _signed(current, verifier, kind)


def _completed(
    session: Session, work: Work, report: dict[str, Any], studies: list[dict[str, str]]
) -> dict[str, Any]:
    """What the centre's kind adds to a report: an ECG's, a pathology case's."""
    if ecg_reading.is_ecg(work):
        return ecg_reading.completed(session, work, report, studies)
    if pathology_reading.is_pathology(work):
        return pathology_reading.completed(session, work, report)
    return report


def _revised(work: Work, current: dict[str, Any], given: Any) -> dict[str, Any]:
    """The report with a revision written over it; an ECG's new coded conclusions without a
    text of their own replace the old text too (it is said by the codes again)."""
    written = _written(_checked(given))
    if ecg_reading.is_ecg(work) and "conclusionCode" in written and "conclusion" not in written:
        current = {k: v for k, v in current.items() if k != "conclusion"}
    return current | written


def _signed(report: dict[str, Any], verifier: User, status: str) -> dict[str, Any]:
    interpreter = {"reference": f"Practitioner/{verifier.username}",
                   "display": verifier.display_name}  # fmt: skip
    held = RESULT_STATUS.get(status, status)
    contained = [c | {"status": held} if c.get("resourceType") == "Observation" else c
                 for c in report.get("contained", [])]  # fmt: skip
    return report | {
        **({"contained": contained} if contained else {}),
        "meta": {"profile": [REPORT_PROFILE]},
        "status": status,
        "issued": instant(datetime.now(UTC)),
        "resultsInterpreter": [interpreter],
    }


def provenance(
    session: Session, work: Work, user: User, step: str, reason: str | None = None
) -> StoredResource:
    """Who signed which version of the report, when, in which role (author or verifier)."""
    assert work.report is not None
    now = instant(datetime.now(UTC))
    role = "author" if step == "preliminary" else "verifier"
    who = {"reference": f"Practitioner/{user.username}", "display": user.display_name}
    agents = [{
        "type": {"coding": [{"system": PARTICIPANT, "code": role}]},
        "who": who,
        "onBehalfOf": {"reference": f"Organization/{work.centre.org_id}"},
    }]  # fmt: skip
    author = work.author
    if role == "verifier" and author and author != user.username:
        agents.append({
            "type": {"coding": [{"system": PARTICIPANT, "code": "author"}]},
            "who": {"reference": f"Practitioner/{author}"},
        })  # fmt: skip
    code, display = SIGNATURES[step]
    record = {
        "resourceType": "Provenance", "id": new_id(),
        "target": [{"reference": f"DiagnosticReport/{work.report.id}"
                                 f"/_history/{work.report.version_id}"},
                   {"reference": f"Task/{work.task.id}"}],
        "recorded": now,
        "activity": {"coding": [{"system": STEP, "code": step, "display": STEPS[step]}]},
        "agent": agents,
        "signature": [{"type": [{"system": SIGNATURE, "code": code, "display": display}],
                       "when": now, "who": who}],
    }  # fmt: skip
    if reason:
        record["reason"] = [{"text": reason}]
    return store_valid(session, record, work.centre.org_id)


def tell_requester(session: Session, work: Work, text: str) -> StoredResource:
    """A notification to the ordering organization about its report."""
    assert work.report is not None
    ordering = work.order_org or work.centre.org_id
    message = {
        "resourceType": "Communication", "id": new_id(), "status": "completed",
        "category": [{"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/communication-category",
            "code": "notification"}], "text": "报告通知"}],
        "subject": work.order["subject"],
        "about": [{"reference": f"DiagnosticReport/{work.report.id}"},
                  {"reference": f"ServiceRequest/{work.order['id']}"}],
        "sent": instant(datetime.now(UTC)),
        "sender": {"reference": f"Organization/{work.centre.org_id}", "display": work.centre.name},
        "recipient": [{"reference": f"Organization/{ordering}"}],
        "payload": [{"contentString": text}],
    }  # fmt: skip
    return store_valid(session, message, work.centre.org_id)


def _checked(given: Any) -> dict[str, Any]:
    if not isinstance(given, dict) or given.get("resourceType") != "DiagnosticReport":
        raise Unprocessable("report must be a DiagnosticReport", [])
    return given


def _written(report: dict[str, Any]) -> dict[str, Any]:
    return {k: report[k] for k in WRITTEN if k in report}


def _findings(report: dict[str, Any]) -> str | None:
    for extension in report.get("extension", []):
        if extension.get("url") == FINDINGS and extension.get("valueString"):
            return str(extension["valueString"])
    return None


def _exam_time(session: Session, work: Work) -> str:
    row = reading_milestones.milestones(session, work.task.id)
    moment = row and (row.exam_started_at or row.images_at)
    if moment:
        return instant(moment)
    return str(work.order.get("occurrenceDateTime") or work.order.get("authoredOn")
               or instant(datetime.now(UTC)))  # fmt: skip


def _studies(session: Session, work: Work) -> list[dict[str, str]]:
    viewer = fhir_viewer(session, work.centre.org_id)
    found = referencing(
        session, "ImagingStudy", "basedon", [f"ServiceRequest/{work.order['id']}"], viewer
    )
    return [{"reference": f"ImagingStudy/{s.id}"} for s in found]
