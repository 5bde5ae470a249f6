"""ORU^R01 (unsolicited observation result) -> per OBR a DiagnosticReport, per OBX an
Observation, per SPM (or the OBR's specimen fields in 2.3) a Specimen, and the PID's Patient.

Identity: a report is its OBR-3 filler order number (else OBR-2) at the sending lab; a result
is that number with OBX-3 and OBX-4; a specimen its barcode (SPM-2).  A corrected result
(OBX-11 = C) so becomes the next version of the same Observation, history kept.  Local item
codes stay as codings of the lab's code system, with LOINC beside them when the lab's code
table maps them; codes without a mapping are reported.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from lab_bridge.errors import ContentError
from lab_bridge.mapping.drafts import Draft, Mapped, ref
from lab_bridge.mapping.patient import patient
from lab_bridge.mapping.specimen import specimen
from lab_bridge.mapping.values import (
    CRITICAL_FLAGS,
    REPORT_STATUS,
    RESULT_STATUS,
    concept,
    date_time,
    instant,
    interpretation,
    quantity,
    reference_range,
    structured_numeric,
)
from lab_bridge.parse import Message, Segment
from storage.exam_codes import LOINC
from storage.models import LabItem

LAB_PROFILE = "http://yilian.example/fhir/StructureDefinition/yilian-lab-observation"
CATEGORY = {
    "coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                "code": "laboratory", "display": "Laboratory"}],
    "text": "检验",
}  # fmt: skip
REPORT_CATEGORY = {
    "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "LAB",
                "display": "Laboratory"}],
    "text": "检验",
}  # fmt: skip


class Context:
    """Who sent the message and how its codes and times are read."""

    def __init__(
        self, org: str, known_orgs: set[str], zone: ZoneInfo, items: dict[str, LabItem]
    ) -> None:
        self.org = org
        self.known_orgs = known_orgs
        self.zone = zone
        self.items = items  # the lab's catalogue by local code: LOINC, critical limits
        self.lab_centre: str | None = None  # the organization whose lab centre serves org
        self.codes = f"urn:yilian:lab-code:{org}"
        self.reports = f"urn:yilian:lab-report:{org}"
        self.results = f"urn:yilian:lab-result:{org}"
        self.specimens = f"urn:yilian:specimen-id:{org}"


def map_oru_r01(message: Message, context: Context) -> Mapped:
    mapped = Mapped()
    counts: dict[str, int] = {}
    patient_key: str | None = None
    report: Draft | None = None
    for segment in message.segments:
        counts[segment.name] = index = counts.get(segment.name, 0) + 1
        if segment.name == "PID":
            draft = patient(segment, index, context.org, context.known_orgs, context.zone)
            mapped.drafts.append(draft)
            patient_key, report = draft.key, None
        elif segment.name == "OBR":
            if patient_key is None:
                raise ContentError(f"OBR[{index}]", 101, "an OBR before any PID")
            report = _report(segment, index, patient_key, context)
            mapped.drafts.append(report)
        elif segment.name == "OBX":
            if report is None:
                raise ContentError(f"OBX[{index}]", 101, "an OBX outside an OBR")
            result = _result(segment, index, report, context, mapped)
            mapped.drafts.append(result)
            report.resource.setdefault("result", []).append(ref(result.key))
        elif segment.name == "SPM" and report is not None:
            specimen = _specimen(segment, index, report, context)
            mapped.drafts.append(specimen)
            _attach_specimen(mapped, report, specimen.key)
    if not any(d.resource["resourceType"] == "DiagnosticReport" for d in mapped.drafts):
        raise ContentError("OBR", 101, "an ORU^R01 needs at least one OBR")
    return mapped


def _report(obr: Segment, index: int, patient_key: str, context: Context) -> Draft:
    where = f"OBR[{index}]"
    number = obr.get(3) or obr.get(2)
    if not number:
        raise ContentError(f"{where}-3", 101, "no filler (OBR-3) or placer (OBR-2) order number")
    tests = obr.repetitions(4)
    code = concept(tests[0] if tests else [], context.codes, f"{where}-4")
    if code is None:
        raise ContentError(f"{where}-4", 101, "the test ordered (OBR-4) is missing")
    status_code = obr.get(25) or "F"
    if status_code not in REPORT_STATUS:
        raise ContentError(f"{where}-25", 103, f"{status_code!r} is not a result status")
    resource: dict[str, Any] = {
        "resourceType": "DiagnosticReport",
        "identifier": [{"system": context.reports, "value": number}],
        "status": REPORT_STATUS[status_code],
        "category": [REPORT_CATEGORY],
        "code": code,
        "subject": ref(patient_key),
        "performer": [{"reference": f"Organization/{context.org}"}],
    }
    if collected := date_time(obr.get(7), context.zone, f"{where}-7"):
        resource["effectiveDateTime"] = collected
    if issued := instant(obr.get(22), context.zone, f"{where}-22"):
        resource["issued"] = issued
    if interpreter := obr.get(32, 2) or obr.get(32, 1):
        resource["resultsInterpreter"] = [{"display": interpreter}]
    draft = Draft(f"report:{index}", resource, (context.reports, number), where)
    draft.order_number = obr.get(2) or None
    return draft


def _result(obx: Segment, index: int, report: Draft, context: Context, mapped: Mapped) -> Draft:
    where = f"OBX[{index}]"
    items = obx.repetitions(3)
    code = concept(items[0] if items else [], context.codes, f"{where}-3")
    if code is None or "coding" not in code:
        raise ContentError(f"{where}-3", 101, "the observation identifier (OBX-3) is missing")
    status_code = obx.get(11)
    if status_code not in RESULT_STATUS:
        reason = "is missing" if not status_code else f"{status_code!r} is not a result status"
        raise ContentError(f"{where}-11", 101 if not status_code else 103, f"OBX-11 {reason}")
    local = code["coding"][0]
    item = local["code"]
    catalogued = context.items.get(item)
    if local["system"] != LOINC:
        if catalogued is not None and catalogued.loinc:
            loinc = {"system": LOINC, "code": catalogued.loinc}
            if catalogued.loinc_display:
                loinc["display"] = catalogued.loinc_display
            code["coding"].append(loinc)
        elif item not in mapped.unmapped_codes:
            mapped.unmapped_codes.append(item)
    unit = obx.get(6, 1) or obx.get(6, 2)
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "meta": {"profile": [LAB_PROFILE]},
        "identifier": [{"system": context.results,
                        "value": f"{report.identifier[1]}/{item}/{obx.get(4) or '1'}"}],
        "status": RESULT_STATUS[status_code],
        "category": [CATEGORY],
        "code": code,
        "subject": report.resource["subject"],
        "performer": [{"reference": f"Organization/{context.org}"}],
    }  # fmt: skip
    resource |= _value(obx, unit, f"{where}-5", context)
    if not any(key.startswith("value") for key in resource):
        resource["dataAbsentReason"] = {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/data-absent-reason",
                        "code": "not-performed" if status_code in "XD" else "unknown"}]
        }  # fmt: skip
    if limits := reference_range(obx.get(7), unit):
        resource["referenceRange"] = [limits]
    if flags := interpretation(obx.repetitions(8)):
        resource["interpretation"] = flags
    observed = date_time(obx.get(14), context.zone, f"{where}-14")
    effective = observed or report.resource.get("effectiveDateTime")
    if effective is None:
        raise ContentError(f"{where}-14", 101, "no observation time (OBX-14 or OBR-7)")
    resource["effectiveDateTime"] = effective
    if analysed := instant(obx.get(19), context.zone, f"{where}-19"):
        resource["issued"] = analysed
    identity = (context.results, resource["identifier"][0]["value"])
    draft = Draft(f"result:{index}", resource, identity, where)
    draft.order_number = report.order_number
    flagged = any(r and r[0].upper() in CRITICAL_FLAGS for r in obx.repetitions(8))
    draft.critical = flagged or _beyond_limits(resource.get("valueQuantity"), catalogued)
    return draft


def _beyond_limits(value: dict[str, Any] | None, item: LabItem | None) -> bool:
    """Outside the lab's critical limits for the item (in the unit the limits are given in)."""
    if value is None or item is None or "value" not in value:
        return False
    if item.unit and value.get("unit") not in (None, item.unit):
        return False  # another unit: the limits do not apply as they are
    low, high = item.critical_low, item.critical_high
    return (low is not None and value["value"] < low) or (
        high is not None and value["value"] > high
    )


def _value(obx: Segment, unit: str, where: str, context: Context) -> dict[str, Any]:
    kind = obx.get(2)
    values = obx.repetitions(5)
    if not values:
        return {}
    first = values[0]
    if kind == "NM":
        text = first[0].strip()
        if text[:1] in "<>":  # "<0.5" sent as NM: a Quantity with its comparator
            comparator = text[:2] if text[1:2] == "=" else text[:1]
            return {"valueQuantity": quantity(text[len(comparator) :], unit, where, comparator)}
        return {"valueQuantity": quantity(text, unit, where)}
    if kind == "SN":
        return structured_numeric(first, unit, where)
    if kind in ("ST", "TX", "FT"):
        return {"valueString": "\n".join(r[0] for r in values)}
    if kind in ("CE", "CWE", "CNE"):
        coded = concept(first, context.codes, where)
        return {"valueCodeableConcept": coded} if coded else {}
    raise ContentError(where.replace("-5", "-2"), 103, f"value type {kind!r} is not supported")


def _specimen(spm: Segment, index: int, report: Draft, context: Context) -> Draft:
    subject = report.resource["subject"]
    draft = specimen(spm, index, subject, context.codes, context.specimens, context.zone)
    draft.order_number = report.order_number
    return draft


def _attach_specimen(mapped: Mapped, report: Draft, specimen_key: str) -> None:
    report.resource.setdefault("specimen", []).append(ref(specimen_key))
    for key in [r["reference"].removeprefix("draft:") for r in report.resource.get("result", [])]:
        result = next(d for d in mapped.drafts if d.key == key)
        result.resource.setdefault("specimen", ref(specimen_key))
