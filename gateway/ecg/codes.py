"""The codes an ECG Observation speaks: MDC (ISO/IEEE 11073-10101, the code system FHIR's
``Observation/ekg`` example uses) for the recording, each lead and each global measurement, LOINC
beside MDC for the measurements, and what devices send instead (DICOM CID 3001 leads ``2:N``,
SCP-ECG ``5.6.3-9-N``, HL7 aECG mnemonics ``MDC_ECG_LEAD_I``).

The DICOM MDC terms and their meanings come from pydicom's copy of PS3.16 (CIDs 3001, 3227-3229),
not from a table of ours.  An MDC term ``2:N`` is the 32-bit code ``2 * 65536 + N``; a lead ``N``'s
electrical potential is ``MDC_ECG_ELEC_POTL`` (``2:256``) + ``N`` — lead I is 131329.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydicom.sr._concepts_dict import concepts

MDC = "urn:oid:2.16.840.1.113883.6.24"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
ECG_POTENTIAL = 131328  # MDC_ECG_ELEC_POTL: the recording's code
TWELVE_LEAD_ECG = "1.2.840.10008.5.1.4.1.1.9.1.1"
GENERAL_ECG = "1.2.840.10008.5.1.4.1.1.9.1.2"
ECG_SOP_CLASSES = frozenset({TWELVE_LEAD_ECG, GENERAL_ECG})

_PARTITION_2 = 2 * 65536
_DICOM_MDC = concepts["MDC"]

# The leads' names as printed on an ECG, by MDC lead term (CID 3001 ``2:N``).
LEAD_LABELS: dict[int, str] = {
    1: "I", 2: "II", 61: "III", 62: "aVR", 63: "aVL", 64: "aVF",
    3: "V1", 4: "V2", 5: "V3", 6: "V4", 7: "V5", 8: "V6", 9: "V7", 66: "V8", 67: "V9",
    10: "V2R", 11: "V3R", 12: "V4R", 13: "V5R", 14: "V6R", 15: "V7R", 68: "V8R", 69: "V9R",
    16: "X", 17: "Y", 18: "Z",
}  # fmt: skip
_LEAD_BY_LABEL = {label.upper(): term for term, label in LEAD_LABELS.items()}
_CID_3001 = {
    int(code.split(":")[1]): meaning
    for entry in _DICOM_MDC.values()
    for code, (meaning, cids) in entry.items()
    if 3001 in cids
}


def lead_code(term: int) -> int:
    """The MDC code of lead ``term``'s potential (131329 for lead I)."""
    return ECG_POTENTIAL + term


def lead_label(term: int) -> str:
    return LEAD_LABELS.get(term) or _CID_3001.get(term) or f"lead {term}"


def lead_display(term: int) -> str:
    """``MDC_ECG_ELEC_POTL_I``: the reference id FHIR's example gives with the code."""
    label = LEAD_LABELS.get(term)
    return f"MDC_ECG_ELEC_POTL_{label.upper()}" if label else f"ECG potential, {lead_label(term)}"


def lead_of_dicom(scheme: str, code: str) -> int | None:
    """The MDC lead term of a DICOM Channel Source code (CID 3001 ``MDC 2:N`` or SCP-ECG
    ``5.6.3-9-N``); None for a channel that is not an ECG lead."""
    scheme = scheme.upper()
    if scheme == "MDC" and code.startswith("2:"):
        number = code[2:].strip()
        term = int(number) if number.isdigit() else -1
        term = term - 256 if term >= 256 else term  # some write the potential's own term
        return term if term in _CID_3001 else None
    if scheme == "SCPECG" and code.startswith("5.6.3-9-"):
        number = code.removeprefix("5.6.3-9-")
        return int(number) if number.isdigit() and int(number) in _CID_3001 else None
    return None


def lead_of_aecg(code: str) -> int | None:
    """``MDC_ECG_LEAD_AVR`` → 62; None for what is not a lead (``TIME_ABSOLUTE``)."""
    name = code.upper()
    return _LEAD_BY_LABEL.get(name[13:]) if name.startswith("MDC_ECG_LEAD_") else None


@dataclass(frozen=True)
class Measure:
    """A global ECG measurement: its MDC and LOINC codes and the UCUM unit it is given in."""

    key: str
    mdc: int
    display: str
    loinc: str | None
    loinc_display: str | None
    unit: str
    aecg: tuple[str, ...]  # the aECG mnemonics that carry it
    scpecg: tuple[str, ...] = ()  # the SCP-ECG codes DICOM devices write


def _dicom_term(keyword: str) -> tuple[int, str]:
    [(code, (meaning, _))] = _DICOM_MDC[keyword].items()
    return _PARTITION_2 + int(code.split(":")[1]), meaning


def _measure(key: str, keyword: str, loinc: tuple[str, str] | None, unit: str,
             aecg: tuple[str, ...], scpecg: tuple[str, ...] = ()) -> Measure:  # fmt: skip
    mdc, display = _dicom_term(keyword)
    return Measure(key, mdc, display, *(loinc or (None, None)), unit, aecg, scpecg)


MEASURES: tuple[Measure, ...] = (
    Measure("HR", _PARTITION_2 + 16770, "Heart rate", "8867-4", "Heart rate", "/min",
            ("MDC_ECG_HEART_RATE",)),
    _measure("RR", "RRIntervalGlobal", None, "ms", ("MDC_ECG_TIME_PD_RR", "MDC_ECG_TIME_PD_RR_GL"),
             ("5.10.2.1-3",)),
    _measure("PR", "PRIntervalGlobal", ("8625-6", "P-R interval"), "ms",
             ("MDC_ECG_TIME_PD_PR", "MDC_ECG_TIME_PD_PR_GL"), ("5.13.5-7",)),
    _measure("QRS", "QRSDurationGlobal", ("8633-0", "QRS duration"), "ms",
             ("MDC_ECG_TIME_PD_QRS", "MDC_ECG_TIME_PD_QRS_GL"), ("5.13.5-9",)),
    _measure("QT", "QTIntervalGlobal", ("8634-8", "Q-T interval"), "ms",
             ("MDC_ECG_TIME_PD_QT", "MDC_ECG_TIME_PD_QT_GL"), ("5.13.5-11",)),
    _measure("QTc", "QtcIntervalGlobal", ("8636-3", "Q-T interval corrected"), "ms",
             ("MDC_ECG_TIME_PD_QTc", "MDC_ECG_TIME_PD_QTc_GL"), ("5.10.2.5-5",)),
    _measure("P axis", "PAxis", ("8626-4", "P wave axis"), "deg", ("MDC_ECG_ANGLE_P_FRONT",),
             ("5.10.3-11",)),
    _measure("QRS axis", "QRSAxis", ("8632-2", "QRS axis"), "deg",
             ("MDC_ECG_ANGLE_QRS_FRONT",), ("5.10.3-13",)),
    _measure("T axis", "TAxis", ("8638-1", "T wave axis"), "deg", ("MDC_ECG_ANGLE_T_FRONT",),
             ("5.10.3-15",)),
)  # fmt: skip
BY_KEY = {m.key: m for m in MEASURES}
_BY_DICOM: dict[tuple[str, str], Measure] = {
    **{("MDC", f"2:{m.mdc - _PARTITION_2}"): m for m in MEASURES},
    **{("LN", m.loinc): m for m in MEASURES if m.loinc},
    **{("SCPECG", code): m for m in MEASURES for code in m.scpecg},
}
_BY_AECG = {name.upper(): m for m in MEASURES for name in m.aecg}


def measure_of_dicom(scheme: str, code: str) -> Measure | None:
    return _BY_DICOM.get((scheme.upper(), code))


def measure_of_aecg(code: str) -> Measure | None:
    return _BY_AECG.get(code.upper())


# A lead's values in microvolts whatever unit the device used.
MICROVOLTS_PER: dict[str, float] = {"uV": 1.0, "mV": 1000.0, "V": 1_000_000.0, "nV": 0.001}
