"""One ECG recording as the readers (:mod:`gateway.ecg.dicom_waveform`, :mod:`gateway.ecg.aecg`)
hand it to :mod:`gateway.ecg.observation` and the chart: leads as integer samples with the
origin and factor that make them microvolts, the device's global measurements and its
statements."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np

from gateway.ecg.codes import Measure

_STAMP = re.compile(r"^(\d{8,14})(?:\.\d+)?([+-]\d{4})?$")


class UnreadableEcg(ValueError):
    """The object or document is not an ECG recording this server can read (the message says
    why, without patient data)."""


@dataclass(frozen=True)
class Lead:
    term: int  # the MDC lead term (CID 3001 ``2:N``)
    origin: float  # µV at sample value 0
    factor: float  # µV per sample unit
    samples: np.ndarray  # one per period: integers as read (floats when drawn from FHIR)

    def microvolts(self) -> np.ndarray:
        return self.origin + self.factor * self.samples.astype(np.float64)


@dataclass(frozen=True)
class Measurement:
    measure: Measure
    value: float  # in ``measure.unit``


@dataclass(frozen=True)
class Recording:
    period_ms: float  # between two samples of every lead
    leads: tuple[Lead, ...]
    measurements: tuple[Measurement, ...] = ()
    statements: tuple[str, ...] = ()  # the device's interpretation, as it worded it
    effective: str | None = None  # FHIR dateTime of the acquisition
    device: str | None = None  # manufacturer and model, when the object says them

    def lead(self, term: int) -> Lead | None:
        return next((lead for lead in self.leads if lead.term == term), None)

    def measured(self, key: str) -> float | None:
        return next((m.value for m in self.measurements if m.measure.key == key), None)


def moment_of(stamp: str, zone: ZoneInfo) -> str | None:
    """A DICOM DT or HL7 TS (``YYYYMMDD[HHMMSS][.ffffff][+ZZZZ]``) as a FHIR dateTime: at its own
    offset when it carries one, else in ``zone``; None when it is not a date."""
    parts = _STAMP.match(stamp.strip())
    if parts is None:
        return None
    digits, zoned = (parts[1] + "000000")[:14], parts[2]
    try:
        moment = datetime.strptime(digits, "%Y%m%d%H%M%S")
    except ValueError:
        return None
    if not zoned:
        return moment.replace(tzinfo=zone).isoformat()
    minutes = int(zoned[1:3]) * 60 + int(zoned[3:])
    offset = timezone(timedelta(minutes=minutes if zoned[0] == "+" else -minutes))
    return moment.replace(tzinfo=offset).isoformat()
