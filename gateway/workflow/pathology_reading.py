"""What reading in the pathology centre adds to the shared reading flow (病理诊断), called by
:mod:`gateway.workflow.reading_report`, :mod:`gateway.workflow.report_sheet` and
:mod:`gateway.workflow.specimens` for a centre of kind ``pathology``:

- the report's sections as pathology writes them: 大体所见 (``pathology-gross``), 镜下所见
  (``pathology-microscopic``), the immunohistochemistry results (免疫组化: contained
  ``Observation``s checked by :mod:`gateway.pathology.ihc`, each on an accepted specimen of the
  order) and the diagnosis (病理诊断, ``conclusion``, required); the report names the
  order's accepted specimens (``specimen``);
- the turnaround (病理报告时限): counted from the specimens' acceptance, in working days by the
  alliance's calendar (:mod:`gateway.workflow.working_days`) or, for a frozen section, minutes;
- supplementary reports (补充报告) are the shared flow's appended reports
  (:mod:`gateway.workflow.report_supplement`): new IHC results come with them."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from fhir_profiles.profiles import CANONICAL
from gateway.errors import Unprocessable
from gateway.pathology import ihc, tracking
from gateway.workflow.due import due_at, remind
from storage.clinical import reading_milestones
from storage.fhir import instant
from storage.fhir import store as fhir_store

if TYPE_CHECKING:
    from gateway.workflow.reading import Work

GROSS = f"{CANONICAL}/StructureDefinition/pathology-gross"
MICROSCOPIC = f"{CANONICAL}/StructureDefinition/pathology-microscopic"


def is_pathology(work: Work) -> bool:
    return work.centre.kind == "pathology"


def completed(session: Session, work: Work, report: dict[str, Any]) -> dict[str, Any]:
    """The pathologist's report with its diagnosis, its IHC results checked and named in
    ``result``, and the accepted specimens it is about."""
    if not str(report.get("conclusion", "")).strip():
        raise Unprocessable("a pathology report needs its diagnosis (病理诊断, conclusion)", [])
    specimens = _accepted(session, work)
    stained = {f"Specimen/{s}" for s in specimens}
    status = str(report.get("status") or "preliminary")
    results, others = [], []
    for contained in report.get("contained", []):
        if isinstance(contained, dict) and ihc.marker_of(contained) is not None:
            results.append(ihc.checked(contained, work.order["subject"], stained, status))
        elif contained.get("resourceType") == "Observation" and contained.get("code"):
            raise Unprocessable("an IHC result's code is a marker of "
                                f"{ihc.MARKER}", [])  # fmt: skip
        else:
            others.append(contained)
    if len({r["id"] for r in results}) != len(results):
        raise Unprocessable("each IHC result has an id of its own", [])
    completed = report | {"contained": others + results,
                          "result": [{"reference": f"#{r['id']}"} for r in results]}  # fmt: skip
    if specimens:
        completed["specimen"] = [{"reference": f"Specimen/{s}"} for s in specimens]
    return {k: v for k, v in completed.items() if v != []}


def sections(report: dict[str, Any]) -> list[tuple[str, str]]:
    """The report's sections as the sheet prints them, in order."""
    results = [c for c in report.get("contained", []) if ihc.marker_of(c) is not None]
    printed = [("大体所见", _text(report, GROSS)), ("镜下所见", _text(report, MICROSCOPIC))]
    if results:
        printed.append(("免疫组化", ihc.printed(results)))
    return [*printed, ("病理诊断", str(report.get("conclusion", "")))]


def due_from_acceptance(session: Session, work: Work, accepted: datetime) -> None:
    """The case is due from the acceptance of its specimens (the Task is changed; the caller
    keeps it); its milestones and the escalation event follow."""
    due = due_at(session, work.centre, work.order, accepted)
    work.content["restriction"] = {"period": {"end": instant(due)}}
    reading_milestones.reschedule(session, work.task.id, due_at=due)
    remind(session, work.task.id, due, accepted)


def _accepted(session: Session, work: Work) -> list[str]:
    order = fhir_store.read(session, "ServiceRequest", work.order["id"])
    if order is None:
        return []
    return sorted(s.id for s in tracking.of_order(session, order, work.centre.org_id)
                  if tracking.step_of(s.content or {}) == "accepted")  # fmt: skip


def _text(report: dict[str, Any], url: str) -> str:
    for extension in report.get("extension", []):
        if extension.get("url") == url:
            return str(extension.get("valueString", ""))
    return ""
