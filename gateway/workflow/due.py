"""When a reading is due (报告时限): minutes, or working days, from the work's start (the order;
a chest-pain ECG's recording or a pathology case's accepted specimens) to the signed report, by
priority, modality, setting and exam — rules a centre sets in the alliance file
(``centres[].due``, first match wins), or the defaults below from the practice of Chinese
hospitals: emergency X-ray 30 min, emergency CT/MR 60 min, routine X-ray 2 h, outpatient
CT/MR 4 h, inpatient 6 h; a chest-pain ECG 10 min; a frozen section (术中冰冻) 30 min, a
biopsy 3 working days, other histology 5 (病理科质控指标: 活检 ≤3, 手术标本 ≤5 个工作日)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from gateway.workflow.working_days import WorkingDays
from storage.exam_codes import order_modality
from storage.fhir import store as fhir_store
from storage.models import Alliance, Centre
from storage.outbox import enqueue

DUE_TOPIC = "reading.due"  # gateway.workflow.escalation: overdue work escalates

XRAY = ["CR", "DX", "RG", "MG", "DR"]
EMERGENCY = ["stat", "asap"]
DEFAULT_RULES: dict[str, list[dict[str, Any]]] = {
    "imaging": [
        {"priority": EMERGENCY, "modalities": XRAY, "minutes": 30},
        {"priority": EMERGENCY, "minutes": 60},
        {"setting": ["emergency"], "modalities": XRAY, "minutes": 30},
        {"setting": ["emergency"], "minutes": 60},
        {"priority": ["urgent"], "minutes": 120},
        {"modalities": XRAY, "minutes": 120},
        {"setting": ["inpatient"], "minutes": 360},
        {"minutes": 240},
    ],
    "ecg": [
        {"priority": EMERGENCY, "minutes": 10},
        {"setting": ["emergency"], "minutes": 10},
        {"priority": ["urgent"], "minutes": 30},
        {"minutes": 120},
    ],
    "pathology": [
        {"exams": ["frozen"], "minutes": 30},
        {"priority": EMERGENCY, "minutes": 30},
        {"priority": ["urgent"], "working_days": 1},
        {"exams": ["biopsy", "cytology"], "working_days": 3},
        {"working_days": 5},
    ],
}
# Encounter.class (v3 ActCode) -> setting
SETTINGS = {"EMER": "emergency", "IMP": "inpatient", "ACUTE": "inpatient", "NONAC": "inpatient"}


def order_setting(session: Session, order: dict[str, Any]) -> str:
    """Emergency, inpatient or outpatient: the class of the order's Encounter (outpatient
    when it names none)."""
    reference = str((order.get("encounter") or {}).get("reference", ""))
    if reference.startswith("Encounter/"):
        encounter = fhir_store.read(session, "Encounter", reference.split("/", 1)[1])
        code = ((encounter.content or {}).get("class") or {}).get("code") if encounter else None
        return SETTINGS.get(str(code), "outpatient")
    return "outpatient"


@dataclass(frozen=True)
class Allowance:
    """The time a rule gives: minutes, or working days by the alliance's calendar."""

    minutes: int | None = None
    working_days: int | None = None

    def due(self, start: datetime, calendar: WorkingDays) -> datetime:
        if self.working_days is not None:
            return calendar.end_of(start, self.working_days)
        return start + timedelta(minutes=self.minutes or 0)


def due_at(session: Session, centre: Centre, order: dict[str, Any], start: datetime) -> datetime:
    """When the work on ``order`` that started at ``start`` is due."""
    return allowance(session, centre, order).due(start, calendar_of(session, centre))


def allowance(session: Session, centre: Centre, order: dict[str, Any]) -> Allowance:
    rules = centre.due_rules or DEFAULT_RULES.get(centre.kind, [])
    exams = {str(c.get("code")) for c in (order.get("code") or {}).get("coding", [])}
    facts = {"priority": order.get("priority", "routine"), "modalities": order_modality(order),
             "setting": order_setting(session, order)}  # fmt: skip
    return first_match(rules, facts, exams)


def calendar_of(session: Session, centre: Centre) -> WorkingDays:
    alliance = session.get(Alliance, centre.alliance_id)
    return WorkingDays.of(alliance.calendar if alliance is not None else None)


def first_match(rules: list[dict[str, Any]], facts: dict[str, Any], exams: set[str]) -> Allowance:
    """The allowance of the first rule whose every condition holds (4 h when none does):
    ``facts`` are the order's priority, modality (``modalities``) and setting; ``exams`` the
    codes of its ``code``."""
    for rule in rules:
        if all(rule.get(key) is None or facts[key] in rule[key] for key in facts) and (
            rule.get("exams") is None or exams & set(rule["exams"])
        ):
            return Allowance(rule.get("minutes"), rule.get("working_days"))
    return Allowance(minutes=240)


def remind(session: Session, task_id: str, due: datetime, now: datetime) -> None:
    """The reading Task's ``reading.due`` event at its due time (escalated if not done)."""
    enqueue(session, DUE_TOPIC, {"task": task_id}, delay=max(due - now, timedelta(0)))
