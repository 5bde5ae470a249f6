"""A :class:`Recording` as one FHIR R4 ``Observation``, shaped as the specification's
``Observation/ekg`` example: code MDC 131328, category procedure, one component per lead with
``valueSampledData`` (integers; origin and factor make them µV; period in ms), a component per
device measurement (MDC and LOINC, UCUM units) and the device's statements as notes."""

from __future__ import annotations

from typing import Any

import numpy as np

from gateway.ecg.codes import ECG_POTENTIAL, LOINC, MDC, MEASURES, UCUM, lead_code, lead_display
from gateway.ecg.recording import Lead, Measurement, Recording

PROCEDURE = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "procedure",
            "display": "Procedure",
        }
    ]
}
_UNIT_NAMES = {"ms": "ms", "deg": "deg", "/min": "/min", "uV": "uV"}


def ecg_observation(
    recording: Recording,
    *,
    id: str,
    identifier: dict[str, str],
    subject: dict[str, Any],
    derived_from: str | None = None,
) -> dict[str, Any]:
    """The Observation (``derived_from``: a reference such as ``ImagingStudy/1.2.3``)."""
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": id,
        "identifier": [identifier],
        "status": "final",
        "category": [PROCEDURE],
        "code": {
            "coding": [{"system": MDC, "code": str(ECG_POTENTIAL), "display": "MDC_ECG_ELEC_POTL"}],
            "text": f"{len(recording.leads)}-lead ECG",
        },
        "subject": subject,
    }
    if recording.effective:
        resource["effectiveDateTime"] = recording.effective
    if recording.device:
        resource["device"] = {"display": recording.device}
    if derived_from:
        resource["derivedFrom"] = [{"reference": derived_from}]
    resource["component"] = [measurement_component(m) for m in recording.measurements] + [
        _lead(lead, recording.period_ms) for lead in recording.leads
    ]
    if recording.statements:
        resource["note"] = [{"text": text} for text in recording.statements]
    return resource


def _quantity(value: float, unit: str) -> dict[str, Any]:
    number: int | float = int(value) if float(value).is_integer() else round(value, 6)
    return {"value": number, "unit": _UNIT_NAMES.get(unit, unit), "system": UCUM, "code": unit}


def measurement_component(measurement: Measurement) -> dict[str, Any]:
    measure = measurement.measure
    coding = [{"system": MDC, "code": str(measure.mdc), "display": measure.display}]
    if measure.loinc:
        coding.append({"system": LOINC, "code": measure.loinc, "display": measure.loinc_display})
    return {
        "code": {"coding": coding, "text": measure.key},
        "valueQuantity": _quantity(measurement.value, measure.unit),
    }


def _lead(lead: Lead, period_ms: float) -> dict[str, Any]:
    coding = {"system": MDC, "code": str(lead_code(lead.term)), "display": lead_display(lead.term)}
    return {
        "code": {"coding": [coding]},
        "valueSampledData": {
            "origin": _quantity(lead.origin, "uV"),
            "period": _number(period_ms),
            "factor": _number(lead.factor),
            "dimensions": 1,
            "data": " ".join(map(str, lead.samples.tolist())),
        },
    }


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else round(value, 9)


def recording_of(observation: dict[str, Any]) -> Recording | None:
    """The recording an ECG Observation (as :func:`ecg_observation` makes it) holds, to draw it:
    its leads (those at the first lead's period) and measurements; None when it holds no lead
    whose samples are all numbers."""
    period: float | None = None
    leads: list[Lead] = []
    measurements: list[Measurement] = []
    for component in observation.get("component") or []:
        codes = {(c.get("system"), c.get("code")) for c in component["code"].get("coding", [])}
        sampled = component.get("valueSampledData")
        if sampled is not None and sampled.get("dimensions") == 1:
            term = _lead_term(codes)
            if term is None or period not in (None, float(sampled["period"])):
                continue
            try:
                samples = np.array(sampled.get("data", "").split(), dtype=np.float64)
            except ValueError:
                continue  # E, L, U: not drawn
            period = float(sampled["period"])
            origin, factor = float(sampled["origin"]["value"]), float(sampled.get("factor", 1))
            leads.append(Lead(term, origin, factor, samples))
        elif (value := (component.get("valueQuantity") or {}).get("value")) is not None and (
            measure := next((m for m in MEASURES if (MDC, str(m.mdc)) in codes), None)
        ):
            measurements.append(Measurement(measure, float(value)))
    if period is None or not leads:
        return None
    return Recording(
        period_ms=period,
        leads=tuple(leads),
        measurements=tuple(measurements),
        statements=tuple(n["text"] for n in observation.get("note") or [] if n.get("text")),
        effective=observation.get("effectiveDateTime"),
        device=(observation.get("device") or {}).get("display"),
    )


def _lead_term(codes: set[tuple[Any, Any]]) -> int | None:
    for system, code in codes:
        if system == MDC and str(code).isdigit() and int(code) > ECG_POTENTIAL:
            return int(code) - ECG_POTENTIAL
    return None
