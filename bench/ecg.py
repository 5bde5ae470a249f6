"""ECG Observation build time beside the cost of merely reading the DICOM object.

The recording is pydicom's real sample (``waveform_ecg.dcm``: 12 leads x 10 s at 1000 Hz,
120,000 samples), held in memory.  Medians of the repeats, in ms:

- read: ``pydicom.dcmread`` of the object's bytes (what any use of the object costs);
- build: :func:`gateway.ecg.dicom_waveform.recording` + :func:`gateway.ecg.observation.
  ecg_observation` on the read data set — decode the multiplex group, the leads as integers,
  the annotations, the Observation with its 12 ``SampledData`` strings (target <= 50 ms);
- read + build, and the ratio build / read;
- chart: the 12-lead SVG drawn from the stored Observation (its samples parsed back from the
  SampledData strings, then drawn; target <= 100 ms), and the PNG (8 px/mm);
- for reference: the aECG document of the same samples parsed and built, and the R4
  validation the publisher runs on the Observation before keeping it.

Run from the repository:

    .venv/bin/python bench/ecg.py [--repeats 30]

Last measured on the 2-core reference machine (shared with other work, so the figures move
between runs; three runs, --repeats 30, 30 and 50, medians in ms):
    read the DICOM object (pydicom.dcmread)         10.6   11.6   15.4
    build the Observation from the data set         19.9   21.0   34.0   (target <= 50)
    read + build                                    36.1   51.1   59.4
    aECG parsed + Observation built                 60.7   36.7   59.3
    chart SVG drawn from the stored Observation     52.8   48.6   53.5   (target <= 100; 254 KiB)
    chart PNG drawn from the stored Observation     64.1   53.3   64.4   (2160 x 1480, ~40 KiB)
    R4 validation of the Observation                12.0   10.2   12.4
    build / read                                    1.87   1.80   2.22
Two thirds of the build is writing 120,000 integers as the SampledData strings.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo

import pydicom

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fhir_profiles.validation import validate
from gateway.ecg import aecg
from gateway.ecg.chart import chart_svg
from gateway.ecg.chart_png import chart_png
from gateway.ecg.dicom_waveform import recording
from gateway.ecg.observation import ecg_observation, recording_of
from gateway.ecg.recording import Recording
from tests.ecg_data import aecg_from_dicom, pydicom_sample

T = TypeVar("T")
ZONE = ZoneInfo("Asia/Shanghai")
SUBJECT = {"identifier": {"system": "urn:yilian:patient-id:tx-wsy", "value": "642341"}}


def median_ms(work: Callable[[], object], repeats: int) -> float:
    work()  # warm: imports, caches
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def build(ds: pydicom.Dataset) -> dict:
    return ecg_observation(
        recording(ds, ZONE),
        id=str(ds.SOPInstanceUID),
        identifier={"system": "urn:dicom:uid", "value": f"urn:oid:{ds.SOPInstanceUID}"},
        subject=SUBJECT,
        derived_from=f"ImagingStudy/{ds.StudyInstanceUID}",
    )


def chart(observation: dict, draw: Callable[[Recording], T] = chart_svg) -> T:
    """What ``Observation/{id}/$chart`` does with the stored resource."""
    drawable = recording_of(observation)
    assert drawable is not None
    return draw(drawable)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=30)
    repeats = parser.parse_args().repeats
    raw = pydicom_sample().read_bytes()
    ds = pydicom.dcmread(io.BytesIO(raw))
    document = aecg_from_dicom(pydicom_sample(), "642341", {"PR": 161, "QRS": 75}, ())
    observation = build(ds)
    read = median_ms(lambda: pydicom.dcmread(io.BytesIO(raw)), repeats)
    built = median_ms(lambda: build(ds), repeats)
    both = median_ms(lambda: build(pydicom.dcmread(io.BytesIO(raw))), repeats)
    from_aecg = median_ms(lambda: aecg.observation_of(aecg.read(document, ZONE), "tx-wsy"), repeats)
    drawn = median_ms(lambda: chart(observation), repeats)
    as_png = median_ms(lambda: chart(observation, chart_png), repeats)
    checked = median_ms(lambda: validate(observation, "Observation"), max(3, repeats // 5))
    leads = sum(1 for c in observation["component"] if "valueSampledData" in c)
    print(f"12-lead ECG, 10 s at 1000 Hz: {leads} leads, {len(raw) / 1024:.0f} KiB DICOM, "
          f"{len(document) / 1024:.0f} KiB aECG; medians of {repeats}")  # fmt: skip
    rows = (
        ("read the DICOM object (pydicom.dcmread)", read),
        ("build the Observation from the data set", built),
        ("read + build", both),
        ("aECG parsed + Observation built", from_aecg),
        ("chart SVG drawn from the stored Observation", drawn),
        ("chart PNG drawn from the stored Observation", as_png),
        ("R4 validation of the Observation", checked),
    )
    for name, ms in rows:
        print(f"  {name:44s}{ms:8.1f} ms")
    print(
        f"  {'build / read':44s}{built / read:8.2f} x   (targets: build <= 50 ms, chart <= 100 ms)"
    )
    print(f"  chart SVG: {len(chart(observation)) / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
