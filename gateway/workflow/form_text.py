"""What Chinese forms (报告单, 标本标签) print of a patient and a moment: the name written whole
(张三丰), the sex in Chinese, the age as years — months or days for an infant — on a given day,
and times to the minute in Beijing."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

BEIJING = ZoneInfo("Asia/Shanghai")
SEX = {"male": "男", "female": "女", "other": "其他", "unknown": "未知"}


def patient_name(patient: dict[str, Any]) -> str:
    """The first name of the Patient with a text, or family and given written together."""
    for name in patient.get("name", []):
        if name.get("text"):
            return str(name["text"])
        if name.get("family") or name.get("given"):
            return str(name.get("family", "")) + "".join(name.get("given", []))
    return ""


def sex_text(patient: dict[str, Any]) -> str:
    return SEX.get(str(patient.get("gender")), "")


def age_text(birth: Any, at: datetime | None) -> str:
    """The age on ``at``'s Beijing day (today when None): 46岁, 8月, 12天; "" without a birth
    date."""
    try:
        born = date.fromisoformat(str(birth))
    except ValueError:
        return ""
    on = (at or datetime.now(BEIJING)).astimezone(BEIJING).date()
    years = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
    if years >= 1:
        return f"{years}岁"
    months = (on.year - born.year) * 12 + on.month - born.month - (on.day < born.day)
    return f"{months}月" if months >= 1 else f"{(on - born).days}天"


def moment(text: Any) -> datetime | None:
    """A FHIR dateTime with its time (a date alone is no moment); Beijing when it has no
    offset."""
    if not isinstance(text, str) or "T" not in text:
        return None
    try:
        found = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return found if found.tzinfo else found.replace(tzinfo=BEIJING)


def local_minute(at: datetime | None) -> str:
    """``2026-12-01 14:05`` in Beijing; "" for None."""
    return at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M") if at else ""
