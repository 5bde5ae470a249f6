"""A :class:`Recording` as one FHIR R4 ``Observation``, shaped as the specification's
``Observation/ekg`` example: code MDC 131328, category procedure, one component per lead with
``valueSampledData`` (integers; origin and factor make them µV; period in ms), a component per
device measurement (MDC and LOINC, UCUM units) and the device's statements as notes."""

from __future__ import annotations

from typing import Any

from gateway.ecg.codes import ECG_POTENTIAL, LOINC, MDC, UCUM, lead_code, lead_display
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
    resource["component"] = [_measurement(m) for m in recording.measurements] + [
        _lead(lead, recording.period_ms) for lead in recording.leads
    ]
    if recording.statements:
        resource["note"] = [{"text": text} for text in recording.statements]
    return resource


def _quantity(value: float, unit: str) -> dict[str, Any]:
    number: int | float = int(value) if float(value).is_integer() else round(value, 6)
    return {"value": number, "unit": _UNIT_NAMES.get(unit, unit), "system": UCUM, "code": unit}


def _measurement(measurement: Measurement) -> dict[str, Any]:
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
