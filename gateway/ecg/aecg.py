"""An HL7 v3 Annotated ECG document (aECG, namespace ``urn:hl7-org:v3``) read into a
:class:`Recording`: the first series' first sequence set — the time sequence's increment is the
period, each ``MDC_ECG_LEAD_*`` sequence (``SLIST_PQ``: origin, scale, digits) a lead — the
series' global measurements (``PQ`` annotations with an MDC code) and interpretation statements
(``ST`` values of ``MDC_ECG_INTERPRETATION_STATEMENT``).

Parsed with defusedxml (no entities, no external references: the document comes off the
network); anything missing or malformed is :class:`UnreadableEcg`, never a partial recording.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from uuid import NAMESPACE_OID, uuid5
from xml.etree.ElementTree import Element, ParseError
from zoneinfo import ZoneInfo

import numpy as np
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from gateway.ecg.codes import MICROVOLTS_PER, lead_of_aecg, measure_of_aecg
from gateway.ecg.observation import ecg_observation
from gateway.ecg.recording import Lead, Measurement, Recording, UnreadableEcg, moment_of
from gateway.fhir.imaging_study import patient_id_system

V3 = "{urn:hl7-org:v3}"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
_SECONDS = {"s": 1000.0, "ms": 1.0, "us": 0.001}
_OID = re.compile(r"^[0-2](\.(0|[1-9][0-9]*))+$")
_UNITS = {"bpm": "/min", "/min": "/min", "{beats}/min": "/min", "ms": "ms", "deg": "deg"}


@dataclass(frozen=True)
class Document:
    """What the document says beyond the recording: its id and the subject's id."""

    id_root: str
    id_extension: str | None
    subject_id: str | None
    recording: Recording


def read(xml: bytes, zone: ZoneInfo) -> Document:
    try:
        root = fromstring(xml)
    except (ParseError, DefusedXmlException, ValueError) as exc:
        raise UnreadableEcg(f"not well-formed XML ({type(exc).__name__})") from exc
    if root.tag != f"{V3}AnnotatedECG":
        raise UnreadableEcg("the document is not an HL7 AnnotatedECG (urn:hl7-org:v3)")
    document_id = root.find(f"{V3}id")
    if document_id is None or not document_id.get("root"):
        raise UnreadableEcg("the AnnotatedECG has no id")
    series = _first_series(root)
    sequence_set = series.find(f"{V3}component/{V3}sequenceSet")
    if sequence_set is None:
        raise UnreadableEcg("the series has no sequence set")
    sequences = sequence_set.findall(f"{V3}component/{V3}sequence")
    period_ms = _period(sequences)
    leads = tuple(lead for s in sequences if (lead := _lead(s)) is not None)
    if not leads:
        raise UnreadableEcg("no sequence of the series is an ECG lead")
    if len({len(lead.samples) for lead in leads}) != 1:
        raise UnreadableEcg("the leads do not have the same number of samples")
    annotations = series.findall(f"{V3}subjectOf/{V3}annotationSet//{V3}annotation")
    subject = root.find(f".//{V3}subjectAssignment/{V3}subject/{V3}trialSubject/{V3}id")
    recording = Recording(
        period_ms=period_ms,
        leads=leads,
        measurements=_measurements(annotations),
        statements=_statements(annotations),
        effective=_effective(series, root, zone),
    )
    return Document(
        document_id.get("root", ""),
        document_id.get("extension"),
        None if subject is None else subject.get("extension") or subject.get("root"),
        recording,
    )


def _first_series(root: Element) -> Element:
    found = root.findall(f"{V3}component/{V3}series")
    rhythm = [s for s in found if _code(s) == "RHYTHM"]
    if not found:
        raise UnreadableEcg("the AnnotatedECG has no series")
    return (rhythm or found)[0]


def _code(element: Element) -> str:
    code = element.find(f"{V3}code")
    return "" if code is None else code.get("code", "")


def _number(element: Element | None, attribute: str = "value") -> float:
    try:
        return float(element.get(attribute, "")) if element is not None else float("nan")
    except ValueError:
        return float("nan")


def _period(sequences: list[Element]) -> float:
    for sequence in sequences:
        if _code(sequence) in ("TIME_ABSOLUTE", "TIME_RELATIVE"):
            increment = sequence.find(f"{V3}value/{V3}increment")
            ms = _SECONDS.get("" if increment is None else increment.get("unit", "s"))
            value = _number(increment)
            if ms is not None and value > 0:
                return value * ms
    raise UnreadableEcg("the series has no time sequence with an increment in seconds")


def _lead(sequence: Element) -> Lead | None:
    term = lead_of_aecg(_code(sequence))
    if term is None:
        return None
    value = sequence.find(f"{V3}value")
    if value is None or value.get(XSI_TYPE, "").split(":")[-1] != "SLIST_PQ":
        raise UnreadableEcg("a lead's value is not an SLIST_PQ")
    digits = value.findtext(f"{V3}digits") or ""
    try:
        samples = np.array(digits.split(), dtype=np.int32)
    except ValueError as exc:
        raise UnreadableEcg("a lead's digits are not integers") from exc
    origin_uv = _microvolts(value.find(f"{V3}origin"), 0.0)
    factor_uv = _microvolts(value.find(f"{V3}scale"), 1.0)
    if not samples.size or not np.isfinite([origin_uv, factor_uv]).all():
        raise UnreadableEcg("a lead has no samples, or no usable origin and scale")
    return Lead(term, origin_uv, factor_uv, samples)


def _microvolts(element: Element | None, default: float) -> float:
    if element is None:
        return default
    scale = MICROVOLTS_PER.get(element.get("unit", ""))
    if scale is None:
        raise UnreadableEcg("a lead's origin or scale is not in volts")
    return _number(element) * scale


def _measurements(annotations: list[Element]) -> tuple[Measurement, ...]:
    found: dict[str, Measurement] = {}
    for annotation in annotations:
        measure = measure_of_aecg(_code(annotation))
        value = annotation.find(f"{V3}value")
        if measure is None or measure.key in found or value is None:
            continue
        number, unit = _number(value), value.get("unit", "")
        if unit == "s" and measure.unit == "ms":
            number, unit = number * 1000, "ms"
        if np.isfinite(number) and _UNITS.get(unit, unit) == measure.unit:
            found[measure.key] = Measurement(measure, number)
    return tuple(found.values())


def _statements(annotations: list[Element]) -> tuple[str, ...]:
    return tuple(
        text
        for annotation in annotations
        if _code(annotation) == "MDC_ECG_INTERPRETATION_STATEMENT"
        and (text := (annotation.findtext(f"{V3}value") or "").strip())
    )


def _effective(series: Element, root: Element, zone: ZoneInfo) -> str | None:
    for element in (series, root):
        low = element.find(f"{V3}effectiveTime/{V3}low")
        if low is not None and (moment := moment_of(low.get("value", ""), zone)):
            return moment
    return None


def observation_of(document: Document, org_id: str) -> dict[str, Any]:
    """The document's Observation as kept for ``org_id`` (who uploaded it): the same document
    uploaded again is the same Observation (its id is made from the document's id); the
    subject is the organization's PatientID, as a DICOM study's."""
    if not document.subject_id:
        raise UnreadableEcg("the AnnotatedECG names no subject (trialSubject id)")
    root, extension = document.id_root, document.id_extension
    scheme = "urn:oid:" if _OID.match(root) else "urn:uuid:"
    identifier = (
        {"system": f"{scheme}{root}", "value": extension}
        if extension
        else {"system": "urn:ietf:rfc:3986", "value": f"{scheme}{root}"}
    )
    return ecg_observation(
        document.recording,
        id=str(uuid5(NAMESPACE_OID, f"{org_id}|{root}|{extension or ''}")),
        identifier=identifier,
        subject={"identifier": {"system": patient_id_system(org_id), "value": document.subject_id}},
    )
