"""What reading in the ECG centre adds to the shared reading flow (远程心电诊断), called by
:mod:`gateway.workflow.reading_report`, :mod:`gateway.workflow.reading` and
:mod:`gateway.workflow.reconcile` for a centre of kind ``ecg``:

- the report: its coded conclusions checked against :mod:`gateway.ecg.conclusions` (an unknown
  code is refused), the conclusion text from them when the reader wrote none, its measurements
  (:mod:`gateway.ecg.interpretation`, prefilled from the device's) contained, and ``result``
  naming them and the recordings read — the ECG Observations of the order's studies or
  uploaded for it;
- the chest-pain fast track (胸痛中心): an order whose ``reasonCode`` is chest pain or a
  suspected STEMI, or a recording the clinic marks so at upload, is read as ``stat``; a
  ``stat`` ECG is due from the recording's arrival, not from the order (the centre's due rule
  for stat: 10 minutes by default), escalated when missed like other overdue work;
- the critical findings of a signed report (心电危急值: ST elevation, VT, VF, third-degree AV
  block …), which the caller raises through the critical-value chain;
- the PDF: the measurements printed as a line and the 12-lead chart on a page of its own."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from gateway.ecg.chart import HEIGHT, WIDTH
from gateway.ecg.chart_png import chart_png
from gateway.ecg.conclusions import SNOMED, Conclusion, coding, conclusions_of
from gateway.ecg.interpretation import ID, described, given_measurements, measurements
from gateway.ecg.observation import recording_of
from gateway.errors import Unprocessable
from gateway.reports.pdf import Figure
from gateway.workflow.due import due_at, remind
from storage.clinical import reading_milestones
from storage.fhir import instant, referencing
from storage.fhir import store as fhir_store
from storage.policy import fhir_viewer

if TYPE_CHECKING:
    from gateway.workflow.reading import Work

# SNOMED CT: chest pain, acute coronary syndrome, acute STEMI — an order for one is fast-tracked.
CHEST_PAIN = {"29857009", "394659003", "401303003"}


def is_ecg(work: Work) -> bool:
    return work.centre.kind == "ecg"


def chest_pain(order: dict[str, Any]) -> bool:
    """The order says chest pain or a suspected STEMI (its ``reasonCode``)."""
    return any(
        c.get("system") == SNOMED and c.get("code") in CHEST_PAIN
        for reason in order.get("reasonCode", [])
        for c in reason.get("coding", [])
    )


def completed(
    session: Session, work: Work, report: dict[str, Any], studies: list[dict[str, str]]
) -> dict[str, Any]:
    """The reader's ECG report with its conclusions coded, its measurements and results."""
    named = conclusions_of(report.get("conclusionCode", []))
    unknown = [c for c in named if isinstance(c, str)]
    if unknown:
        raise Unprocessable(f"not an ECG conclusion of this centre: {', '.join(unknown)}", [])
    known = [c for c in named if isinstance(c, Conclusion)]
    others = [concept for concept in report.get("conclusionCode", [])
              if not conclusions_of([concept])]  # fmt: skip
    recordings = _recordings(session, work, studies)
    shown = [{"coding": coding(c), "text": c.display} for c in known]
    contained = measurements(given_measurements(report), recordings, known, "preliminary")
    return report | {
        "conclusionCode": shown + others,
        "conclusion": report.get("conclusion") or "；".join(c.display for c in known),
        "contained": [contained],
        "result": [{"reference": f"#{ID}"}]
        + [{"reference": f"Observation/{r['id']}"} for r in recordings],
    }


def critical_findings(report: dict[str, Any]) -> list[str]:
    """The critical conclusions of a report, as the alert reads them out."""
    named = conclusions_of(report.get("conclusionCode", []))
    return [c.display for c in named if isinstance(c, Conclusion) and c.critical]


def read_first(session: Session, work: Work) -> None:
    """The clinic marked the recording chest pain / suspected STEMI: an ECG Task is read stat
    (the Task is changed; the caller keeps it)."""
    if is_ecg(work):
        work.content["priority"] = "stat"
        reading_milestones.reschedule(session, work.task.id, priority="stat")


def awaits_recording(work: Work) -> bool:
    """A stat ECG whose recording has not arrived: its due time is not running yet."""
    return _fast(work) and work.state == "awaiting-exam"


def _fast(work: Work) -> bool:
    return is_ecg(work) and work.content.get("priority") == "stat"


def due_from_arrival(session: Session, work: Work, arrived: datetime) -> None:
    """A stat ECG is due its minutes after the recording arrived (the Task is changed; the
    caller keeps it); its milestones and the escalation event follow."""
    if not _fast(work):
        return
    due = due_at(session, work.centre, work.order | {"priority": "stat"}, arrived)
    work.content["restriction"] = {"period": {"end": instant(due)}}
    reading_milestones.reschedule(session, work.task.id, due_at=due)
    remind(session, work.task.id, due, arrived)


def printed(session: Session, report: dict[str, Any]) -> tuple[str, Figure | None]:
    """What an ECG report's PDF adds: its measurements as a line, and the 12-lead chart of
    the first recording it names (None when it names none that can be drawn)."""
    text = described(given_measurements(report))
    for result in report.get("result", []):
        reference = str(result.get("reference", ""))
        if not reference.startswith("Observation/"):
            continue
        found = fhir_store.read(session, "Observation", reference.split("/", 1)[1])
        recording = recording_of(found.content) if found and found.content else None
        if recording is not None:
            return text, Figure(chart_png(recording), WIDTH, HEIGHT)
    return text, None


def _recordings(
    session: Session, work: Work, studies: list[dict[str, str]]
) -> list[dict[str, Any]]:
    """The ECG Observations of the order's studies, and those uploaded for the order."""
    viewer = fhir_viewer(session, work.centre.org_id)
    found = {
        r.id: r
        for param, targets in (("derived-from", [s["reference"] for s in studies]),
                               ("based-on", [f"ServiceRequest/{work.order['id']}"]))
        for r in referencing(session, "Observation", param, targets, viewer)
    }  # fmt: skip
    return [found[id].content for id in sorted(found) if found[id].content is not None]
