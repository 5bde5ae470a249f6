"""An ECG report's measurements as the cardiologist signs them (心电图报告的测量值): rhythm,
rate (/min), QRS axis (deg), PR, QRS, QT and QTc (ms) — one ``Observation`` (LOINC 34534-8,
12 lead EKG panel) contained in the report and named by its ``result``.  Each figure is the
reader's when given (a component coded as the recording's are: MDC and LOINC), else the
device's from the recording's Observation (prefilled), else absent; the rhythm is the reader's
component (LOINC 8884-9) else the first coded conclusion that is a rhythm.  The Observation is
``derivedFrom`` the recordings read."""

from __future__ import annotations

from typing import Any

from gateway.ecg.codes import BY_KEY, LOINC, MDC
from gateway.ecg.conclusions import Conclusion, coding
from gateway.ecg.observation import PROCEDURE, measurement_component
from gateway.ecg.recording import Measurement

ID = "measurements"
FIELDS = ("HR", "PR", "QRS", "QT", "QTc", "QRS axis")
RHYTHM = {"system": LOINC, "code": "8884-9", "display": "Heart rate rhythm"}
PANEL = {"system": LOINC, "code": "34534-8", "display": "12 lead EKG panel"}


def measurements(
    given: dict[str, Any] | None,
    recordings: list[dict[str, Any]],
    conclusions: list[Conclusion],
    status: str,
) -> dict[str, Any]:
    """The contained Observation (``given``: the reader's, if any; ``recordings``: the ECG
    Observations read, the first with a figure prefilling it)."""
    components = []
    rhythm = _component(given, RHYTHM["code"], LOINC)
    if rhythm is None:
        first = next((c for c in conclusions if c.rhythm), None)
        if first is not None:
            concept = {"coding": coding(first), "text": first.display}
            rhythm = {"code": {"coding": [RHYTHM], "text": "心律"}, "valueCodeableConcept": concept}
    if rhythm is not None:
        components.append(rhythm)
    for key in FIELDS:
        measure = BY_KEY[key]
        value = _value(given, measure.loinc, measure.mdc)
        for recording in recordings:
            if value is not None:
                break
            value = _value(recording, measure.loinc, measure.mdc)
        if value is not None:
            components.append(measurement_component(Measurement(measure, value)))
    observation: dict[str, Any] = {
        "resourceType": "Observation",
        "id": ID,
        "status": status,
        "category": [PROCEDURE],
        "code": {"coding": [PANEL], "text": "心电图测量"},
        "component": components,
    }
    if recordings:
        observation["derivedFrom"] = [{"reference": f"Observation/{r['id']}"} for r in recordings]
    return observation


# How the report prints each figure: label, unit.
PRINTED = {"HR": ("心率", "次/分"), "QRS axis": ("电轴", "°"), "PR": ("PR间期", " ms"),
           "QRS": ("QRS时限", " ms"), "QT": ("QT间期", " ms"), "QTc": ("QTc", " ms")}  # fmt: skip


def described(observation: dict[str, Any] | None) -> str:
    """The measurements as the report prints them: 心律：窦性心律　心率：75次/分 …"""
    parts = []
    rhythm = _component(observation, RHYTHM["code"], LOINC)
    if rhythm is not None:
        concept = rhythm.get("valueCodeableConcept") or {}
        parts.append(f"心律：{concept.get('text') or rhythm.get('valueString', '')}")
    for key in FIELDS:
        measure = BY_KEY[key]
        value = _value(observation, measure.loinc, measure.mdc)
        if value is not None:
            label, unit = PRINTED[key]
            parts.append(f"{label}：{value:g}{unit}")
    return "　".join(parts)


def given_measurements(report: dict[str, Any]) -> dict[str, Any] | None:
    """The Observation a reader wrote into the report (``contained``), if any."""
    return next(
        (c for c in report.get("contained", []) if c.get("resourceType") == "Observation"), None
    )


def _component(
    observation: dict[str, Any] | None, code: str | int | None, system: str
) -> dict[str, Any] | None:
    if observation is None or code is None:
        return None
    for component in observation.get("component") or []:
        codes = {(c.get("system"), str(c.get("code"))) for c in component["code"].get("coding", [])}
        if (system, str(code)) in codes:
            return dict(component)
    return None


def _value(observation: dict[str, Any] | None, loinc: str | None, mdc: int) -> float | None:
    found = _component(observation, loinc, LOINC) or _component(observation, mdc, MDC)
    value = ((found or {}).get("valueQuantity") or {}).get("value")
    return float(value) if isinstance(value, int | float) else None
