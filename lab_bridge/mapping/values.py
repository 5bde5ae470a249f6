"""HL7 v2 data types as FHIR values, following the HL7 v2-to-FHIR mapping guidance: DTM ->
dateTime, CE/CWE -> CodeableConcept, NM/SN + units -> Quantity/Range/Ratio, text reference
ranges, abnormal flags -> v3 ObservationInterpretation, result status -> Observation.status."""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from lab_bridge.errors import ContentError
from storage.exam_codes import LOINC

UCUM = "http://unitsofmeasure.org"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
# Abnormal flags (HL7 table 0078) as Chinese reports show them.
FLAGS = {
    "H": "偏高", "L": "偏低", "HH": "危急高值", "LL": "危急低值", "A": "异常", "AA": "危急异常",
    "N": "正常", "<": "低于检测下限", ">": "高于检测上限",
}  # fmt: skip
CRITICAL_FLAGS = {"HH", "LL", "AA"}
# Result status (HL7 table 0085) -> Observation.status; DiagnosticReport uses the same words.
RESULT_STATUS = {
    "F": "final", "C": "corrected", "P": "preliminary", "R": "preliminary", "S": "preliminary",
    "X": "cancelled", "D": "entered-in-error", "W": "entered-in-error", "I": "registered",
}  # fmt: skip
REPORT_STATUS = {**RESULT_STATUS, "A": "partial", "C": "corrected", "I": "registered"}
# Units as Chinese LIS write them -> UCUM codes.
_UCUM = {
    "10^9/L": "10*9/L", "10^12/L": "10*12/L", "10*9/L": "10*9/L", "10*12/L": "10*12/L",
    "g/L": "g/L", "g/dL": "g/dL", "mg/L": "mg/L", "mg/dL": "mg/dL", "mmol/L": "mmol/L",
    "umol/L": "umol/L", "μmol/L": "umol/L", "µmol/L": "umol/L", "nmol/L": "nmol/L",
    "pmol/L": "pmol/L", "U/L": "U/L", "IU/L": "[IU]/L", "mIU/L": "m[IU]/L",
    "uIU/mL": "u[IU]/mL", "μIU/mL": "u[IU]/mL", "ng/mL": "ng/mL", "pg/mL": "pg/mL",
    "ug/L": "ug/L", "μg/L": "ug/L", "%": "%", "fL": "fL", "fl": "fL", "pg": "pg", "s": "s",
    "sec": "s", "mm/h": "mm/h", "mmHg": "mm[Hg]", "mL/min": "mL/min", "ratio": "{ratio}",
}  # fmt: skip
# HL7 numbers and times are ASCII digits (``\d`` would take any script's digits).
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$", re.ASCII)
_DTM = re.compile(
    r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\.\d{1,4})?([+-]\d{4})?$", re.ASCII
)
_WIDEST_OFFSET = timedelta(hours=14)  # no time zone is further from UTC
# A FHIR code: no leading, trailing or repeated white space.
_CODE = re.compile(r"\S+( \S+)*")


def date_time(value: str, zone: ZoneInfo, where: str) -> str | None:
    """A DTM/TS as a FHIR dateTime; times without an offset are in the alliance's zone."""
    if not value:
        return None
    match = _DTM.match(value.strip())
    if match is None:
        raise ContentError(where, 102, f"{value!r} is not an HL7 date/time (YYYYMMDDHHMMSS)")
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    tz: tzinfo = zone if offset is None else _offset(offset, value, where)
    try:
        if hour is None:  # a date (or month, or year) as precise as it was given
            date(int(year), int(month or 1), int(day or 1))  # a real day of a year from 1
            return "-".join(p for p in (year, month, day) if p)
        moment = datetime(
            int(year), int(month or 1), int(day or 1), int(hour), int(minute or 0),
            int(second or 0), int(float(fraction) * 1_000_000) if fraction else 0, tzinfo=tz,
        )  # fmt: skip
        moment.astimezone(UTC)  # within years 1 to 9999 in UTC too, as it is searched by
    except (ValueError, OverflowError) as exc:
        raise ContentError(where, 102, f"{value!r} is not a valid date/time") from exc
    return moment.isoformat(timespec="milliseconds" if fraction else "seconds")


def _offset(offset: str, value: str, where: str) -> timezone:
    """``+HHMM`` as a time zone: minutes below 60, within ±14:00."""
    hours, minutes = int(offset[1:3]), int(offset[3:])
    shift = timedelta(hours=hours, minutes=minutes)
    if minutes >= 60 or shift > _WIDEST_OFFSET:
        raise ContentError(where, 102, f"{value!r}: the time zone {offset} is not within ±1400")
    return timezone(-shift if offset[0] == "-" else shift)


def instant(value: str, zone: ZoneInfo, where: str) -> str | None:
    """A DTM as a FHIR instant: only when it names a time (a bare date is no instant)."""
    moment = date_time(value, zone, where)
    return moment if moment is not None and "T" in moment else None


def coding(components: list[str], local_system: str, where: str) -> dict[str, Any] | None:
    """CE/CWE ``code^text^system``: LN is LOINC, anything else the sender's local codes.
    Spaces around the code are dropped (fixed-width senders pad it); inside, it must be a
    FHIR code."""
    code = components[0].strip() if components else ""
    text = components[1] if len(components) > 1 else ""
    system = components[2] if len(components) > 2 else ""
    if not code:
        return None
    if not _CODE.fullmatch(code):
        raise ContentError(where, 102, f"{code!r} is not a code (tabs or repeated spaces)")
    result = {"system": LOINC if system in ("LN", "LOINC") else local_system, "code": code}
    if text:
        result["display"] = text
    return result


def concept(components: list[str], local_system: str, where: str) -> dict[str, Any] | None:
    found = coding(components, local_system, where)
    if found is None:
        text = components[1] if len(components) > 1 else ""
        return {"text": text} if text else None
    return {"coding": [found], **({"text": found["display"]} if "display" in found else {})}


def quantity(number: str, unit: str, where: str, comparator: str = "") -> dict[str, Any]:
    if not _NUMBER.match(number.strip()) or not math.isfinite(value := float(number)):
        raise ContentError(where, 102, f"{number[:40]!r} is not a number")
    result: dict[str, Any] = {"value": value}
    if comparator:
        result["comparator"] = comparator
    if unit:
        result["unit"] = unit
        if unit in _UCUM:
            result["system"], result["code"] = UCUM, _UCUM[unit]
    return result


def structured_numeric(components: list[str], unit: str, where: str) -> dict[str, Any]:
    """SN ``comparator^num1^separator^num2`` as the value[x] it means:
    ``<^0.5`` Quantity with comparator, ``^1^-^5`` Range, ``^1^:^128`` Ratio."""
    parts = [*components, "", "", "", ""][:4]
    comparator, first, separator, second = (p.strip() for p in parts)
    if separator in ("-", "") and second and separator:
        return {"valueRange": {"low": quantity(first, unit, where),
                               "high": quantity(second, unit, where)}}  # fmt: skip
    if separator in (":", "/") and second:
        return {"valueRatio": {"numerator": quantity(first, "", where),
                               "denominator": quantity(second, "", where)}}  # fmt: skip
    if comparator and comparator not in ("<", "<=", ">=", ">"):
        raise ContentError(where, 102, f"{comparator!r} is not an SN comparator")
    return {"valueQuantity": quantity(first, unit, where, comparator)}


def reference_range(text: str, unit: str) -> dict[str, Any] | None:
    """``3.5-5.3``, ``<5``, ``>=1.0`` as low/high (in the result's unit); anything else (阴性)
    kept as text."""
    text = text.strip()
    if not text:
        return None
    number = r"([+-]?[0-9]+(?:\.[0-9]+)?)"
    between = re.fullmatch(number + r"\s*[-~～—]\s*" + number, text)
    if between and _finite(*between.groups()):
        return {"low": _simple(between.group(1), unit), "high": _simple(between.group(2), unit),
                "text": text}  # fmt: skip
    bound = re.fullmatch(r"(<=?|≤|>=?|≥)\s*" + number, text)
    if bound and _finite(bound.group(2)):
        side = "high" if bound.group(1) in ("<", "<=", "≤") else "low"
        return {side: _simple(bound.group(2), unit), "text": text}
    return {"text": text}


def _finite(*numbers: str) -> bool:
    return all(math.isfinite(float(n)) for n in numbers)


def _simple(number: str, unit: str) -> dict[str, Any]:
    result: dict[str, Any] = {"value": float(number)}
    if unit:
        result["unit"] = unit
        if unit in _UCUM:
            result["system"], result["code"] = UCUM, _UCUM[unit]
    return result


def interpretation(flags: list[list[str]]) -> list[dict[str, Any]]:
    found = []
    for repetition in flags:
        flag = repetition[0].strip().upper() if repetition else ""
        if flag in FLAGS:
            coded = {"system": INTERPRETATION, "code": flag}
            found.append({"coding": [coded], "text": FLAGS[flag]})
    return found
