"""The mutual-recognition mark (互认标识, e.g. 浙HR) on what a lab sends
(:mod:`storage.clinical.recognition_marks`).

A result (``Observation``) is marked when it is released (``final``, ``corrected``), its LOINC
is an item of the catalogue of the lab's alliances and the lab held a QC / EQA pass for the
item's group on the day the result was obtained — its observation time (OBX-14, else the
specimen's collection time OBR-7), as the recognition of priors reads it; a preliminary result,
a result of a lab not qualified that day, is not.

A lab report (``DiagnosticReport``) is one sheet of many items, and only some may be
recognisable (a basic metabolic panel: potassium and sodium are, a remark is not).  A clinician
reads a mark at the top of a sheet as "every result on it is recognised" and would skip
repeating the whole panel, so the report carries the mark only when it is released and every
result it still lists (those not taken out: entered in error, cancelled) carries that same
mark; otherwise the marks stay on the results, item by item, as lab sheets print them.

The mark is added after the draft was validated: it is the catalogue's, which the alliance file
already holds to the profile's rule (``yl-hr-mark``: it ends in HR).  Lab reports are not
printed as PDF here (the LIS prints its own sheet); what a clinic reads is the FHIR resources.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from storage.clinical.recognition import qualified_items
from storage.clinical.recognition_marks import RELEASED, mark_of, mark_with, marking_day, with_mark
from storage.fhir import store as fhir_store
from storage.models import RecognitionItem

TAKEN_OUT = frozenset({"entered-in-error", "cancelled"})


def result_marked(session: Session, result: dict[str, Any], lab: str) -> dict[str, Any]:
    """The lab's ``result`` with its mark, when it has one."""
    day = marking_day(result)
    return result if day is None else mark_with(result, _qualified(session, lab, day))


def report_marked(
    session: Session, report: dict[str, Any], results: Mapping[str, dict[str, Any]]
) -> dict[str, Any]:
    """The lab's ``report`` with the mark every result it lists carries, when they all carry
    the same; ``results``: the results this message wrote, by reference (the others are read)."""
    if report.get("status") not in RELEASED:
        return report
    marks: set[str | None] = set()
    for reference in (str(r.get("reference", "")) for r in report.get("result", [])):
        result = results.get(reference)
        if result is None:
            stored = fhir_store.read(session, "Observation", reference.removeprefix("Observation/"))
            result = (stored.content if stored else None) or {}
        if result.get("status") not in TAKEN_OUT:
            marks.add(mark_of(result))
    mark = marks.pop() if len(marks) == 1 else None
    if mark is None:
        return report
    name = (report.get("code") or {}).get("text") or "检验报告"
    return with_mark(report, mark, str(name))


def _qualified(session: Session, lab: str, day: date) -> list[RecognitionItem]:
    """The items ``lab`` was qualified for on ``day``, read once per transaction (a commit
    group holds many messages of the same lab and day; none of them changes the catalogue)."""
    found: dict[tuple[str, date], list[RecognitionItem]]
    found = session.info.setdefault("lab_bridge.recognition_items", {})
    if (lab, day) not in found:
        found[lab, day] = qualified_items(session, lab, day)
    return found[lab, day]
