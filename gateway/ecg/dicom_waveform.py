"""A DICOM 12-lead or General ECG waveform object read into a :class:`Recording`.

The recording is the first multiplex group of ORIGINAL samples (the rhythm; a median beat is
DERIVED); each channel whose source is an ECG lead (CID 3001, or SCP-ECG lead codes) becomes a
lead, its raw integers kept with ``origin`` = Channel Baseline and ``factor`` = Channel Sensitivity
× Correction Factor, in µV (PS3.3 C.10.9.1.4).  Global measurements are the annotations with a
concept name, a numeric value and no sample position, on all channels (Referenced Waveform
Channels ``g, 0``); statements are the text annotations and coded findings, in their order.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

import numpy as np
from pydicom import Dataset
from pydicom.waveforms.numpy_handler import multiplex_array

from gateway.ecg.codes import ECG_SOP_CLASSES, MICROVOLTS_PER, lead_of_dicom, measure_of_dicom
from gateway.ecg.recording import Lead, Measurement, Recording, UnreadableEcg, moment_of


def is_ecg(sop_class_uid: str) -> bool:
    return sop_class_uid in ECG_SOP_CLASSES


def recording(ds: Dataset, zone: ZoneInfo) -> Recording:
    """``UnreadableEcg`` when the object holds no ECG lead this server can read."""
    groups = ds.get("WaveformSequence") or []
    if not groups:
        raise UnreadableEcg("the object has no waveform")
    index = next((i for i, g in enumerate(groups) if g.get("WaveformOriginality") == "ORIGINAL"), 0)
    group = groups[index]
    try:
        frequency = float(group.SamplingFrequency)
        samples = multiplex_array(ds, index, as_raw=True)
    except (AttributeError, KeyError, ValueError, TypeError) as exc:
        raise UnreadableEcg(f"the waveform cannot be read ({type(exc).__name__})") from exc
    if not frequency > 0:
        raise UnreadableEcg("the sampling frequency is not positive")
    channels = group.get("ChannelDefinitionSequence") or []
    if len(channels) != samples.shape[1]:
        raise UnreadableEcg("the channel definitions do not match the channels")
    leads = tuple(
        lead
        for column, channel in enumerate(channels)
        if (lead := _lead(channel, samples[:, column])) is not None
    )
    if not leads:
        raise UnreadableEcg("no channel of the waveform is an ECG lead")
    annotations = ds.get("WaveformAnnotationSequence") or []
    return Recording(
        period_ms=1000.0 / frequency,
        leads=leads,
        measurements=_measurements(annotations, index + 1),
        statements=_statements(annotations),
        effective=_acquired(ds, zone),
        device=_device(ds),
    )


def _device(ds: Dataset) -> str | None:
    named = (str(ds.get(k) or "").strip() for k in ("Manufacturer", "ManufacturerModelName"))
    return " ".join(name for name in named if name) or None


def _lead(channel: Dataset, column: np.ndarray) -> Lead | None:
    source = (channel.get("ChannelSourceSequence") or [None])[0]
    if source is None:
        return None
    scheme, code = str(source.get("CodingSchemeDesignator", "")), str(source.get("CodeValue", ""))
    term = lead_of_dicom(scheme, code)
    if term is None:
        return None
    units = (channel.get("ChannelSensitivityUnitsSequence") or [None])[0]
    scale = MICROVOLTS_PER.get(str(units.get("CodeValue", "uV")) if units else "uV")
    if scale is None:
        raise UnreadableEcg("a lead's sensitivity is not in volts")
    sensitivity = float(channel.get("ChannelSensitivity") or 1.0)
    correction = float(channel.get("ChannelSensitivityCorrectionFactor") or 1.0)
    baseline = float(channel.get("ChannelBaseline") or 0.0)
    return Lead(term, baseline * scale, sensitivity * correction * scale, column.copy())


def _on_all_channels(item: Dataset, group: int) -> bool:
    referenced = list(item.get("ReferencedWaveformChannels") or [])
    pairs = list(zip(referenced[::2], referenced[1::2], strict=False))
    return not pairs or any(g == group and c == 0 for g, c in pairs)


def _measurements(annotations: list[Dataset], group: int) -> tuple[Measurement, ...]:
    found: dict[str, Measurement] = {}
    for item in annotations:
        names = item.get("ConceptNameCodeSequence") or []
        if not names or item.get("NumericValue") in (None, ""):
            continue
        if "ReferencedSamplePositions" in item or not _on_all_channels(item, group):
            continue  # a fiducial point, or a per-lead measurement
        measure = measure_of_dicom(str(names[0].CodingSchemeDesignator), str(names[0].CodeValue))
        if measure is None or measure.key in found:
            continue
        value = float(item.NumericValue)
        units = (item.get("MeasurementUnitsCodeSequence") or [None])[0]
        if units is not None and str(units.get("CodeValue")) == "s" and measure.unit == "ms":
            value *= 1000
        found[measure.key] = Measurement(measure, value)
    return tuple(found.values())


def _statements(annotations: list[Dataset]) -> tuple[str, ...]:
    said: list[str] = []
    for item in annotations:
        if text := str(item.get("UnformattedTextValue") or "").strip():
            said.append(text)
        elif (codes := item.get("ConceptCodeSequence")) and item.get("NumericValue") is None:
            said.append(str(codes[0].get("CodeMeaning") or codes[0].CodeValue))
    return tuple(said)


def _acquired(ds: Dataset, zone: ZoneInfo) -> str | None:
    """Acquisition DateTime, else Content Date and Time; at the object's Timezone Offset From
    UTC when it gives one."""
    stamp = str(ds.get("AcquisitionDateTime") or "")
    if len(stamp) < 8:
        stamp = str(ds.get("ContentDate") or ds.get("StudyDate") or "")
        stamp += str(ds.get("ContentTime") or ds.get("StudyTime") or "")
    offset = str(ds.get("TimezoneOffsetFromUTC") or "")
    if offset and not any(sign in stamp[8:] for sign in "+-"):
        stamp += offset
    return moment_of(stamp, zone)
