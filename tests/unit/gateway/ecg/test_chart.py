"""The 12-lead chart as a reader checks paper: the grid measured in the SVG is 1 mm and 5 mm,
the calibration pulse 10 mm high (1 mV) and 5 mm wide (200 ms), and a known sine drawn at
25 mm/s and 10 mm/mV — its period and amplitude measured on the trace."""

from __future__ import annotations

from xml.etree.ElementTree import Element
from zoneinfo import ZoneInfo

import numpy as np
import pydicom
import pytest
from defusedxml.ElementTree import fromstring

from gateway.ecg.chart import chart_svg
from gateway.ecg.dicom_waveform import recording
from gateway.ecg.observation import ecg_observation, recording_of
from tests.dicom_data import Study
from tests.ecg_data import LEADS, SENSITIVITY_UV, synthetic, twelve_lead

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def drawn(tmp_path_factory: pytest.TempPathFactory) -> Element:
    path = twelve_lead(Study(), synthetic(), tmp_path_factory.mktemp("ecg"))
    read = recording(pydicom.dcmread(path), ZoneInfo("Asia/Shanghai"))
    observation = ecg_observation(
        read, id="x", identifier={"system": "urn:x", "value": "x"}, subject={"display": "x"}
    )
    from_fhir = recording_of(observation)  # what the chart operation draws
    assert from_fhir is not None
    for ours, theirs in zip(read.leads, from_fhir.leads, strict=True):
        assert np.array_equal(ours.microvolts(), theirs.microvolts())
    return fromstring(chart_svg(from_fhir))


def lines(d: str, axis: str) -> list[float]:
    """The positions of the ``M x y V…`` (axis x) or ``M x y H…`` (axis y) lines of a path."""
    moves = [move.split() for move in d.split("M")[1:]]
    if axis == "x":
        return sorted(float(m[0]) for m in moves if "V" in m[1])
    return sorted(float(m[1].split("H")[0]) for m in moves if "H" in m[1])


def test_one_svg_unit_is_one_millimetre(drawn: Element) -> None:
    width, height = drawn.get("width", ""), drawn.get("height", "")
    assert width.endswith("mm")
    assert height.endswith("mm")
    assert drawn.get("viewBox") == f"0 0 {width[:-2]} {height[:-2]}"


def test_the_grid_is_one_and_five_millimetres(drawn: Element) -> None:
    minor = drawn.find(f"{SVG}path[@class='grid-minor']").get("d")
    major = drawn.find(f"{SVG}path[@class='grid-major']").get("d")
    for axis in "xy":
        every = sorted(lines(minor, axis) + lines(major, axis))
        assert set(np.diff(every)) == {1.0}
        assert set(np.diff(lines(major, axis))) == {5.0}


def test_the_calibration_pulse_is_one_millivolt_for_200_ms(drawn: Element) -> None:
    pulses = drawn.findall(f"{SVG}path[@class='calibration']")
    assert len(pulses) == 4  # each row
    steps = pulses[0].get("d").split("h")  # M2 y | 1v-10 | 5v10 | 1
    assert steps[1] == "1v-10"  # 10 mm up: 1 mV at 10 mm/mV
    assert steps[2] == "5v10"  # 5 mm wide: 200 ms at 25 mm/s


def points(trace: Element) -> tuple[np.ndarray, np.ndarray]:
    values = np.array(trace.get("points").split(), dtype=float)
    return values[0::2], values[1::2]


def test_the_traces_are_drawn_at_25_mm_per_s_and_10_mm_per_mv(drawn: Element) -> None:
    leads = drawn.findall(f"{SVG}polyline[@class='lead']")
    assert sorted(t.get("data-lead") for t in leads) == sorted(label for _, label in LEADS)
    [rhythm] = drawn.findall(f"{SVG}polyline[@class='rhythm']")
    assert rhythm.get("data-lead") == "II"
    x, y = points(rhythm)
    assert x[-1] - x[0] == pytest.approx(250, abs=0.1)  # 10 s at 25 mm/s
    # Lead II is 240 units × 2.5 µV = 600 µV · sin(2π · 1.25 Hz · t) + 25 µV.
    amplitude_mv = 240 * SENSITIVITY_UV / 1000
    assert y.max() - y.min() == pytest.approx(2 * amplitude_mv * 10, abs=0.05)  # 10 mm/mV
    above = y - (y.max() + y.min()) / 2 > 0  # y grows down the page
    rising = x[1:][above[:-1] & ~above[1:]]  # where the wave rises through its middle
    assert len(rising) == 12  # 10 s of a 0.8 s period, starting at a rising middle
    assert np.diff(rising) == pytest.approx(0.8 * 25, abs=0.1)  # one period: 0.8 s → 20 mm
    texts = " ".join(t.text or "" for t in drawn.iter(f"{SVG}text"))
    assert "25 mm/s" in texts
    assert "10 mm/mV" in texts
    assert "QTc 402 ms" in texts


def test_an_observation_without_leads_has_no_chart() -> None:
    assert recording_of({"resourceType": "Observation", "component": []}) is None
