"""A DICOM ECG waveform object read as the Observation a HIS would find: the pydicom sample's
device figures, and a generated 12-lead recording compared lead by lead."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pydicom
import pytest

from fhir_profiles.validation import validate
from gateway.ecg.codes import LOINC, MDC
from gateway.ecg.dicom_waveform import recording
from gateway.ecg.observation import ecg_observation
from gateway.ecg.recording import UnreadableEcg
from tests.dicom_data import Study
from tests.ecg_data import LEADS, MEASURED, SENSITIVITY_UV, STATEMENTS, pydicom_sample, synthetic
from tests.ecg_data import twelve_lead as write_twelve_lead

SHANGHAI = ZoneInfo("Asia/Shanghai")
SUBJECT = {"identifier": {"system": "urn:yilian:patient-id:tx-wsy", "value": "P1"}}


def observation_of(path: Path) -> dict:
    read = recording(pydicom.dcmread(path), SHANGHAI)
    return ecg_observation(
        read,
        id="1.2.3",
        identifier={"system": "urn:dicom:uid", "value": "urn:oid:1.2.3"},
        subject=SUBJECT,
        derived_from="ImagingStudy/1.2",
    )


def component(observation: dict, system: str, code: str) -> dict:
    [found] = [
        c for c in observation["component"]
        if any(x["system"] == system and x["code"] == code for x in c["code"]["coding"])
    ]  # fmt: skip
    return found


def test_the_pydicom_sample_gives_the_device_figures() -> None:
    observation = observation_of(pydicom_sample())
    assert validate(observation, "Observation") == []
    assert observation["code"]["coding"][0] == {
        "system": MDC, "code": "131328", "display": "MDC_ECG_ELEC_POTL"
    }  # fmt: skip
    assert observation["category"][0]["coding"][0]["code"] == "procedure"
    figures = {
        code: component(observation, LOINC, code)["valueQuantity"]
        for code in ("8625-6", "8633-0", "8634-8", "8636-3")
    }
    assert {c: (q["value"], q["code"]) for c, q in figures.items()} == {
        "8625-6": (161, "ms"), "8633-0": (75, "ms"), "8634-8": (368, "ms"), "8636-3": (370, "ms")
    }  # fmt: skip
    assert component(observation, MDC, "146944")["valueQuantity"]["value"] == 161  # PR, MDC
    assert component(observation, LOINC, "8632-2")["valueQuantity"] == {
        "value": 52, "unit": "deg", "system": "http://unitsofmeasure.org", "code": "deg"
    }  # fmt: skip
    assert [n["text"] for n in observation["note"]] == ["RITMO SINUSALE", "ECG NORMALE"]
    assert observation["effectiveDateTime"] == "2013-01-25T10:59:19+08:00"
    leads = [c for c in observation["component"] if "valueSampledData" in c]
    assert [c["code"]["coding"][0]["code"] for c in leads] == [
        "131329", "131330", "131389", "131390", "131391", "131392",
        "131331", "131332", "131333", "131334", "131335", "131336",
    ]  # fmt: skip
    lead_i = leads[0]["valueSampledData"]
    assert (lead_i["period"], lead_i["factor"], lead_i["dimensions"]) == (1, 1.25, 1)
    assert lead_i["origin"]["code"] == "uV"
    data = np.array(lead_i["data"].split(), dtype=float)
    assert len(data) == 10_000
    # The samples times the factor are the microvolts pydicom reads.
    expected = pydicom.dcmread(pydicom_sample()).waveform_array(0)[:, 0]
    assert np.allclose(lead_i["origin"]["value"] + data * lead_i["factor"], expected)


def test_a_generated_twelve_lead_recording_comes_out_lead_by_lead(tmp_path: Path) -> None:
    truth = synthetic()
    observation = observation_of(write_twelve_lead(Study(), truth, tmp_path))
    assert validate(observation, "Observation") == []
    for term, label in LEADS:
        sampled = component(observation, MDC, str(131328 + term))["valueSampledData"]
        assert sampled["period"] == 2  # 500 Hz
        assert sampled["factor"] == SENSITIVITY_UV
        got = np.array(sampled["data"].split(), dtype=np.int16)
        assert np.array_equal(got, truth.samples[term]), label
    assert component(observation, LOINC, "8867-4")["valueQuantity"]["value"] == MEASURED["HR"]
    loinc_codes = {"PR": "8625-6", "QRS": "8633-0", "QT": "8634-8", "QTc": "8636-3",
                   "P axis": "8626-4", "QRS axis": "8632-2", "T axis": "8638-1"}  # fmt: skip
    for key, loinc in loinc_codes.items():
        assert component(observation, LOINC, loinc)["valueQuantity"]["value"] == MEASURED[key]
    assert [n["text"] for n in observation["note"]] == list(STATEMENTS)
    assert observation["device"] == {"display": "Yilian Test Sine-12"}


def test_a_general_ecg_keeps_its_leads_and_leaves_other_channels(tmp_path: Path) -> None:
    truth = synthetic(2)
    ds = pydicom.dcmread(write_twelve_lead(Study(), truth, tmp_path))
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.9.1.2"
    channels = ds.WaveformSequence[0].ChannelDefinitionSequence
    channels[0].ChannelSourceSequence[0].CodeValue = "5.6.3-9-1"  # lead I, SCP-ECG's code
    channels[0].ChannelSourceSequence[0].CodingSchemeDesignator = "SCPECG"
    channels[1].ChannelSourceSequence[0].CodeValue = "2:16384"  # not a lead (a measurement)
    channels[2].ChannelSensitivityUnitsSequence[0].CodeValue = "mV"
    channels[2].ChannelSensitivity = "0.0025"
    read = recording(ds, SHANGHAI)
    assert [lead.term for lead in read.leads] == [1, *(term for term, _ in LEADS[2:])]
    assert np.array_equal(read.leads[0].samples, truth.samples[1])
    assert read.leads[1].factor == pytest.approx(SENSITIVITY_UV)  # mV given, µV kept


def test_an_object_without_ecg_leads_is_refused(tmp_path: Path) -> None:
    ds = pydicom.dcmread(write_twelve_lead(Study(), synthetic(1), tmp_path))
    for channel in ds.WaveformSequence[0].ChannelDefinitionSequence:
        channel.ChannelSourceSequence[0].CodeValue = "2:9999"
    with pytest.raises(UnreadableEcg, match="no channel"):
        recording(ds, SHANGHAI)
    del ds.WaveformSequence
    with pytest.raises(UnreadableEcg, match="no waveform"):
        recording(ds, SHANGHAI)


def test_the_recording_time_keeps_the_objects_own_offset(tmp_path: Path) -> None:
    ds = pydicom.dcmread(write_twelve_lead(Study(study_date="20261201"), synthetic(1), tmp_path))
    assert recording(ds, SHANGHAI).effective == "2026-12-01T09:30:15+08:00"  # the server's zone
    ds.TimezoneOffsetFromUTC = "+0100"
    assert recording(ds, SHANGHAI).effective == "2026-12-01T09:30:15+01:00"
    ds.AcquisitionDateTime = "20261201093015.250-0500"
    assert recording(ds, SHANGHAI).effective == "2026-12-01T09:30:15-05:00"
