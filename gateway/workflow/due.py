"""When a reading is due (报告时限): minutes from the order to the signed report, by priority,
modality and setting — rules a centre sets in the alliance file (``centres[].due``, first match
wins), or the defaults below from the practice of Chinese hospitals: emergency X-ray 30 min,
emergency CT/MR 60 min, routine X-ray 2 h, outpatient CT/MR 4 h, inpatient 6 h; a chest-pain
ECG 10 min; a frozen section 30 min, routine pathology 3 days."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from storage.exam_codes import order_modality
from storage.fhir import store as fhir_store
from storage.models import Centre
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
        {"priority": EMERGENCY, "minutes": 30},
        {"priority": ["urgent"], "minutes": 1440},
        {"minutes": 4320},
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


def due_minutes(session: Session, centre: Centre, order: dict[str, Any]) -> int:
    rules = centre.due_rules or DEFAULT_RULES.get(centre.kind, [])
    modality, setting = order_modality(order), order_setting(session, order)
    return first_match(rules, order.get("priority", "routine"), modality, setting)


def first_match(
    rules: list[dict[str, Any]], priority: str, modality: str | None, setting: str
) -> int:
    """The minutes of the first rule whose every condition holds (4 h when none does)."""
    facts = {"priority": priority, "modalities": modality, "setting": setting}
    for rule in rules:
        if all(rule.get(key) is None or facts[key] in rule[key] for key in facts):
            return int(rule["minutes"])
    return 240


def remind(session: Session, task_id: str, due: datetime, now: datetime) -> None:
    """The reading Task's ``reading.due`` event at its due time (escalated if not done)."""
    enqueue(session, DUE_TOPIC, {"task": task_id}, delay=max(due - now, timedelta(0)))
