"""An HL7 aECG document read as the recording its sender wrote: samples, period, the device's
figures and statements; anything unreadable refused whole."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import numpy as np
import pydicom
import pytest

from fhir_profiles.validation import validate
from gateway.ecg.aecg import observation_of, read
from gateway.ecg.recording import UnreadableEcg
from tests.ecg_data import aecg_from_dicom, pydicom_sample

SHANGHAI = ZoneInfo("Asia/Shanghai")
FIGURES = {"HR": 61, "PR": 161, "QRS": 75, "QT": 368, "QTc": 370, "QRS axis": 52}


@pytest.fixture(scope="module")
def document() -> bytes:
    return aecg_from_dicom(pydicom_sample(), "TX000888", FIGURES, ("窦性心律", "正常心电图"))


def test_the_samples_and_figures_come_out_as_sent(document: bytes) -> None:
    read_back = read(document, SHANGHAI)
    recording = read_back.recording
    assert read_back.subject_id == "TX000888"
    assert recording.period_ms == 1.0
    assert len(recording.leads) == 12
    expected = pydicom.dcmread(pydicom_sample()).waveform_array(0)
    for column, lead in enumerate(recording.leads):
        assert np.allclose(lead.microvolts(), expected[:, column])
    assert {m.measure.key: m.value for m in recording.measurements} == FIGURES
    assert recording.statements == ("窦性心律", "正常心电图")
    assert recording.effective == "2026-12-01T09:30:15+08:00"
    observation = observation_of(read_back, "tx-wsy")
    assert validate(observation, "Observation") == []
    assert observation["id"] == observation_of(read(document, SHANGHAI), "tx-wsy")["id"]
    assert observation["id"] != observation_of(read_back, "blq-wsy")["id"]


def test_millivolt_scales_are_kept_in_microvolts(document: bytes) -> None:
    in_mv = document.replace(
        b'<scale value="1.25" unit="uV"/>', b'<scale value="0.00125" unit="mV"/>'
    )
    assert in_mv != document
    lead = read(in_mv, SHANGHAI).recording.leads[0]
    assert lead.factor == pytest.approx(1.25)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ((b"<digits>", b"<digits>x "), "not integers"),
        ((b'unit="uV"/><scale', b'unit="furlong"/><scale'), "not in volts"),
        ((b"MDC_ECG_LEAD_", b"OTHER_"), "no sequence"),
        ((b'<increment value="0.001" unit="s"/>', b""), "no time sequence"),
        ((b"urn:hl7-org:v3", b"urn:other"), "not an HL7 AnnotatedECG"),
        ((b"</AnnotatedECG>", b""), "not well-formed"),
    ],
)
def test_an_unreadable_document_is_refused(document: bytes, change: tuple, reason: str) -> None:
    broken = document.replace(*change)
    assert broken != document
    with pytest.raises(UnreadableEcg, match=reason):
        read(broken, SHANGHAI)
