"""The 12-lead chart as a reader checks paper: the grid measured in the SVG is 1 mm and 5 mm,
the calibration pulse 10 mm high (1 mV) and 5 mm wide (200 ms), and a known sine drawn at
25 mm/s and 10 mm/mV — its period and amplitude measured on the trace; the PNG's grid in
pixels."""

from __future__ import annotations

import io
from pathlib import Path
from xml.etree.ElementTree import Element
from zoneinfo import ZoneInfo

import numpy as np
import pydicom
import pytest
from defusedxml.ElementTree import fromstring
from PIL import Image, ImageColor

from gateway.ecg.chart import HEIGHT, MAJOR, WIDTH, chart_svg
from gateway.ecg.chart_png import PX_PER_MM, chart_png
from gateway.ecg.dicom_waveform import recording
from gateway.ecg.observation import ecg_observation, recording_of
from tests.dicom_data import Study
from tests.ecg_data import LEADS, SENSITIVITY_UV, synthetic, twelve_lead

SVG = "{http://www.w3.org/2000/svg}"
SHANGHAI = ZoneInfo("Asia/Shanghai")


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
    """Where the lines of a path (``Mx1 y1Lx2 y2`` each) across the ``axis`` are: the x of
    vertical lines, the y of horizontal ones."""
    segments = [[float(v) for v in part.replace("L", " ").split()] for part in d.split("M")[1:]]
    if axis == "x":
        return sorted(x1 for x1, y1, x2, y2 in segments if x1 == x2)
    return sorted(y1 for x1, y1, x2, y2 in segments if y1 == y2)


def corners(path: Element) -> np.ndarray:
    return np.array(path.get("d")[1:].replace("L", " ").split(), dtype=float).reshape(-1, 2)


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
    x, y = corners(pulses[0]).T
    assert y.max() - y.min() == 10  # 1 mV at 10 mm/mV
    top = x[y == y.min()]
    assert top.max() - top.min() == 5  # 200 ms at 25 mm/s


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


def test_the_png_has_the_same_paper_at_8_pixels_per_millimetre(tmp_path: Path) -> None:
    path = twelve_lead(Study(), synthetic(), tmp_path)
    image = Image.open(io.BytesIO(chart_png(recording(pydicom.dcmread(path), SHANGHAI))))
    assert image.size == (round(WIDTH * PX_PER_MM), round(HEIGHT * PX_PER_MM))
    pixels = np.array(image.convert("RGB"))
    major = np.array(ImageColor.getrgb(MAJOR))
    # Along the bottom margin (no trace there): a major line every 5 mm = 40 pixels.
    row = pixels[round((HEIGHT - 2.5) * PX_PER_MM)]
    columns = np.flatnonzero((row == major).all(axis=1))
    starts = columns[np.diff(columns, prepend=-10) > 1]
    assert set(np.diff(starts)) == {5 * PX_PER_MM}
