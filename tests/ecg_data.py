"""ECG recordings for tests: a 12-lead DICOM waveform object made with pydicom from synthetic
sines (each lead its own amplitude and frequency, so a mix-up shows), and an HL7 aECG document
(urn:hl7-org:v3) written from any DICOM ECG's samples — the pydicom sample's included."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
from pydicom import Dataset, dcmread
from pydicom.data import get_testdata_file
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from tests.dicom_data import Study

TWELVE_LEAD = "1.2.840.10008.5.1.4.1.1.9.1.1"
# (MDC lead term, label) in the order an ECG cart sends them.
LEADS = ((1, "I"), (2, "II"), (61, "III"), (62, "aVR"), (63, "aVL"), (64, "aVF"),
         (3, "V1"), (4, "V2"), (5, "V3"), (6, "V4"), (7, "V5"), (8, "V6"))  # fmt: skip
SENSITIVITY_UV = 2.5
MEASURED = {"HR": 72, "PR": 152, "QRS": 88, "QT": 380, "QTc": 402, "P axis": 45,
            "QRS axis": 30, "T axis": 40}  # fmt: skip
_MDC_TERMS = {"HR": None, "PR": "2:15872", "QRS": "2:16156", "QT": "2:16160", "QTc": "2:15876",
              "P axis": "2:16128", "QRS axis": "2:16132", "T axis": "2:16136"}  # fmt: skip
STATEMENTS = ("窦性心律", "正常心电图")


def pydicom_sample() -> Path:
    return Path(get_testdata_file("waveform_ecg.dcm"))


@dataclass(frozen=True)
class Synthetic:
    """The generated recording's truth: raw samples per lead term, 500 Hz, 10 s."""

    samples: dict[int, np.ndarray]
    frequency: float = 500.0


def synthetic(seconds: float = 10.0, frequency: float = 500.0) -> Synthetic:
    t = np.arange(int(seconds * frequency)) / frequency
    waves = {term: (200 + 40 * k) * np.sin(2 * np.pi * (1 + 0.25 * k) * t) + 10 * k
             for k, (term, _) in enumerate(LEADS)}  # fmt: skip
    samples = {term: np.round(wave).astype(np.int16) for term, wave in waves.items()}
    return Synthetic(samples, frequency)


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, scheme, meaning
    return item


def twelve_lead(study: Study, truth: Synthetic, directory: Path) -> Path:
    """A 12-lead ECG object (CID 3001 MDC lead codes, MDC measurements, text statements)."""
    sop_uid = str(generate_uid())
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = TWELVE_LEAD, sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID, ds.SOPInstanceUID = TWELVE_LEAD, sop_uid
    ds.PatientID, ds.PatientName = study.patient.patient_id, study.patient.name
    ds.PatientBirthDate, ds.PatientSex = study.patient.birth_date, study.patient.sex
    ds.StudyInstanceUID, ds.StudyDate, ds.StudyTime = study.study_uid, study.study_date, "093000"
    ds.AccessionNumber, ds.StudyID, ds.StudyDescription = study.accession, "1", "常规心电图"
    ds.ReferringPhysicianName = "Li^Ming"
    ds.SeriesInstanceUID, ds.SeriesNumber, ds.Modality = str(generate_uid()), 1, "ECG"
    ds.InstanceNumber = 1
    ds.AcquisitionDateTime = f"{study.study_date}093015"
    ds.Manufacturer, ds.ManufacturerModelName = "Yilian Test", "Sine-12"
    group = Dataset()
    group.MultiplexGroupTimeOffset = "0"
    group.WaveformOriginality = "ORIGINAL"
    group.NumberOfWaveformChannels = len(LEADS)
    group.NumberOfWaveformSamples = len(truth.samples[1])
    group.SamplingFrequency = str(truth.frequency)
    group.MultiplexGroupLabel = "RHYTHM"
    group.WaveformBitsAllocated, group.WaveformSampleInterpretation = 16, "SS"
    channels = []
    for term, label in LEADS:
        channel = Dataset()
        channel.ChannelSourceSequence = [_code(f"2:{term}", "MDC", f"Lead {label}")]
        channel.ChannelSensitivity = str(SENSITIVITY_UV)
        channel.ChannelSensitivityUnitsSequence = [_code("uV", "UCUM", "microvolt")]
        channel.ChannelSensitivityCorrectionFactor = "1"
        channel.ChannelBaseline = "0"
        channel.WaveformBitsStored = 16
        channels.append(channel)
    group.ChannelDefinitionSequence = channels
    interleaved = np.stack([truth.samples[term] for term, _ in LEADS], axis=1)
    group.WaveformData = interleaved.astype("<i2").tobytes()
    ds.WaveformSequence = [group]
    ds.WaveformAnnotationSequence = [_text(s) for s in STATEMENTS] + [
        _numeric(key, value) for key, value in MEASURED.items()
    ]
    path = directory / f"{sop_uid}.dcm"
    directory.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def _text(statement: str) -> Dataset:
    item = Dataset()
    item.UnformattedTextValue = statement
    item.ReferencedWaveformChannels = [1, 0]
    item.AnnotationGroupNumber = 0
    return item


def _numeric(key: str, value: float) -> Dataset:
    item = Dataset()
    term = _MDC_TERMS[key]
    item.ConceptNameCodeSequence = [
        _code("8867-4", "LN", "Heart rate") if term is None else _code(term, "MDC", key)
    ]
    item.MeasurementUnitsCodeSequence = [
        _code("/min" if key == "HR" else ("deg" if "axis" in key else "ms"), "UCUM", key)
    ]
    item.NumericValue = str(value)
    item.ReferencedWaveformChannels = [1, 0]
    item.AnnotationGroupNumber = 1
    return item


_AECG_MEASURES = {"HR": ("MDC_ECG_HEART_RATE", "bpm"), "PR": ("MDC_ECG_TIME_PD_PR", "ms"),
                  "QRS": ("MDC_ECG_TIME_PD_QRS", "ms"), "QT": ("MDC_ECG_TIME_PD_QT", "ms"),
                  "QTc": ("MDC_ECG_TIME_PD_QTc", "ms"),
                  "P axis": ("MDC_ECG_ANGLE_P_FRONT", "deg"),
                  "QRS axis": ("MDC_ECG_ANGLE_QRS_FRONT", "deg"),
                  "T axis": ("MDC_ECG_ANGLE_T_FRONT", "deg")}  # fmt: skip
_AECG_LEADS = {1: "I", 2: "II", 61: "III", 62: "AVR", 63: "AVL", 64: "AVF", 3: "V1", 4: "V2",
               5: "V3", 6: "V4", 7: "V5", 8: "V6"}  # fmt: skip


def aecg_from_dicom(path: Path, patient_id: str, measured: dict[str, float],
                    statements: tuple[str, ...]) -> bytes:  # fmt: skip
    """An HL7 aECG document with the DICOM object's rhythm samples (SLIST_PQ digits, origin and
    scale in µV) and the given global measurements and statements."""
    ds = dcmread(path)
    group = ds.WaveformSequence[0]
    raw = ds.waveform_array(0)  # µV; written back as digits at the object's own scale
    scale = float(group.ChannelDefinitionSequence[0].ChannelSensitivity)
    increment = 1 / float(group.SamplingFrequency)
    sequences = [
        '<component><sequence><code code="TIME_ABSOLUTE" codeSystem="2.16.840.1.113883.5.4"/>'
        '<value xsi:type="GLIST_TS"><head value="20261201093015.000"/>'
        f'<increment value="{increment:g}" unit="s"/></value></sequence></component>'
    ]
    for column, channel in enumerate(group.ChannelDefinitionSequence):
        code = channel.ChannelSourceSequence[0].CodeValue
        term = int(code.rsplit("-", 1)[-1]) if "-" in code else int(code.split(":")[1])
        digits = " ".join(str(round(v / scale)) for v in raw[:, column])
        sequences.append(
            f'<component><sequence><code code="MDC_ECG_LEAD_{_AECG_LEADS[term]}" '
            'codeSystem="2.16.840.1.113883.6.24" codeSystemName="MDC"/>'
            f'<value xsi:type="SLIST_PQ"><origin value="0" unit="uV"/>'
            f'<scale value="{scale:g}" unit="uV"/><digits>{digits}</digits></value>'
            "</sequence></component>"
        )
    annotations = [
        f'<component><annotation><code code="{_AECG_MEASURES[key][0]}" '
        f'codeSystem="2.16.840.1.113883.6.24"/><value xsi:type="PQ" value="{value:g}" '
        f'unit="{_AECG_MEASURES[key][1]}"/></annotation></component>'
        for key, value in measured.items()
    ]
    annotations.append(
        '<component><annotation><code code="MDC_ECG_INTERPRETATION" '
        'codeSystem="2.16.840.1.113883.6.24"/>'
        + "".join(
            '<component><annotation><code code="MDC_ECG_INTERPRETATION_STATEMENT" '
            f'codeSystem="2.16.840.1.113883.6.24"/><value xsi:type="ST">{escape(s)}</value>'
            "</annotation></component>"
            for s in statements
        )
        + "</annotation></component>"
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<AnnotatedECG xmlns="urn:hl7-org:v3" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f'<id root="{generate_uid()}"/>'
        '<code code="93000" codeSystem="2.16.840.1.113883.6.12" codeSystemName="CPT-4"/>'
        '<effectiveTime><low value="20261201093015"/><high value="20261201093025"/>'
        "</effectiveTime>"
        "<componentOf><timepointEvent><componentOf><subjectAssignment><subject><trialSubject>"
        f'<id root="2.16.840.1.113883.3.1" extension="{escape(patient_id)}"/>'
        "</trialSubject></subject></subjectAssignment></componentOf></timepointEvent>"
        "</componentOf>"
        '<component><series><code code="RHYTHM" codeSystem="2.16.840.1.113883.5.4"/>'
        '<effectiveTime><low value="20261201093015"/><high value="20261201093025"/></effectiveTime>'
        "<component><sequenceSet>" + "".join(sequences) + "</sequenceSet></component>"
        "<subjectOf><annotationSet>" + "".join(annotations) + "</annotationSet></subjectOf>"
        "</series></component></AnnotatedECG>"
    ).encode()
