"""A 12-lead ECG laid out on standard ECG paper — 25 mm/s, 10 mm/mV, 1 mm and 5 mm grid lines, a
1 mV calibration pulse (200 ms wide) at the start of every row, the leads 3 × 4 (each column
2.5 s of the same moment: I II III, aVR aVL aVF, V1 V2 V3, V4 V5 V6) and a 10 s lead II rhythm
strip, lead labels; speed, gain, the device's measurements and statements printed above — as a
:class:`Sheet` in millimetres, drawn as SVG here and as PNG by :mod:`gateway.ecg.chart_png`.

The SVG's user unit is the millimetre (``width="…mm"`` and its ``viewBox`` agree), so a printer
at 100 % prints true paper scale.  Traces keep at most 500 points per second (0.05 mm apart)."""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

import numpy as np

from gateway.ecg.codes import lead_label
from gateway.ecg.recording import Lead, Recording

SPEED_MM_PER_S = 25.0
GAIN_MM_PER_MV = 10.0
CELL_SECONDS = 2.5
LAYOUT = ((1, 62, 3, 6), (2, 63, 4, 7), (61, 64, 5, 8))  # MDC lead terms, row by row
RHYTHM_LEAD = 2  # II
LEFT, TOP, ROW = 10.0, 20.0, 40.0  # mm: calibration pulse margin, header, row height
CELL_MM = SPEED_MM_PER_S * CELL_SECONDS
WIDTH = LEFT + CELL_MM * 4 + 10.0
HEIGHT = TOP + ROW * 4 + 5.0
PAPER, MINOR, MAJOR, INK = "#fffafa", "#f6c6c6", "#e58a8a", "#111111"
_MIN_PERIOD_MS = 2.0  # 500 points per second at most


@dataclass(frozen=True)
class Trace:
    label: str
    start_s: float
    rhythm: bool  # the strip under the 3 × 4 leads
    x: np.ndarray  # mm
    y: np.ndarray  # mm, down the page


@dataclass(frozen=True)
class Sheet:
    traces: tuple[Trace, ...]
    labels: tuple[tuple[float, float, str], ...]  # x, y (mm), text
    header: tuple[str, ...]
    baselines: tuple[float, ...] = tuple(TOP + ROW * row + ROW / 2 for row in range(4))


def sheet(recording: Recording) -> Sheet:
    traces, labels = [], []
    for row, terms in enumerate(LAYOUT):
        base = TOP + ROW * row + ROW / 2
        for column, term in enumerate(terms):
            if (lead := recording.lead(term)) is not None:
                start = column * CELL_SECONDS
                traces.append(_trace(lead, recording.period_ms, start, CELL_SECONDS, base))
                labels.append((LEFT + column * CELL_MM + 1, base - 12, lead_label(term)))
    rhythm = recording.lead(RHYTHM_LEAD) or recording.leads[0]
    base = TOP + ROW * 3 + ROW / 2
    traces.append(_trace(rhythm, recording.period_ms, 0.0, 4 * CELL_SECONDS, base, rhythm=True))
    labels.append((LEFT + 1, base - 12, lead_label(rhythm.term)))
    return Sheet(tuple(traces), tuple(labels), _header(recording))


def grid() -> tuple[list[tuple[float, ...]], list[tuple[float, ...]]]:
    """The minor and major grid lines ``(x1, y1, x2, y2)``: every millimetre, every fifth major."""
    minor: list[tuple[float, ...]] = []
    major: list[tuple[float, ...]] = []
    for x in range(int(WIDTH) + 1):
        (major if x % 5 == 0 else minor).append((x, TOP, x, HEIGHT))
    for y in range(int(TOP), int(HEIGHT) + 1):
        (major if (y - int(TOP)) % 5 == 0 else minor).append((0, y, WIDTH, y))
    return minor, major


def pulse(base: float) -> list[tuple[float, float]]:
    """The calibration pulse's corners: 1 mV high and 200 ms wide at this speed and gain."""
    high, wide = GAIN_MM_PER_MV * 1.0, SPEED_MM_PER_S * 0.2
    return [(2, base), (3, base), (3, base - high), (3 + wide, base - high), (3 + wide, base),
            (4 + wide, base)]  # fmt: skip


def separators(base: float) -> list[tuple[float, ...]]:
    """Short marks where one column of leads ends and the next begins."""
    return [(LEFT + c * CELL_MM, base - 4, LEFT + c * CELL_MM, base + 4) for c in (1, 2, 3)]


def chart_svg(recording: Recording) -> str:
    drawn = sheet(recording)
    minor, major = grid()
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH:g}mm" height="{HEIGHT:g}mm" '
        f'viewBox="0 0 {WIDTH:g} {HEIGHT:g}" font-family="sans-serif">',
        f'<rect width="{WIDTH:g}" height="{HEIGHT:g}" fill="{PAPER}"/>',
        _lines("grid-minor", minor, MINOR, 0.1),
        _lines("grid-major", major, MAJOR, 0.2),
    ]
    parts += [
        f'<text x="{LEFT:g}" y="{5 + 5 * n}" font-size="3.5" fill="{INK}">{escape(line)}</text>'
        for n, line in enumerate(drawn.header)
    ]
    for base in drawn.baselines:
        corners = "L".join(f"{x:g} {y:g}" for x, y in pulse(base))
        parts.append(f'<path class="calibration" d="M{corners}" fill="none" stroke="{INK}" '
                     'stroke-width="0.3"/>')  # fmt: skip
    parts += [_lines("separator", separators(b), INK, 0.3) for b in drawn.baselines[:3]]
    parts += [_polyline(trace) for trace in drawn.traces]
    parts += [
        f'<text x="{x:g}" y="{y:g}" font-size="3.5" fill="{INK}">{escape(text)}</text>'
        for x, y, text in drawn.labels
    ]
    return "\n".join([*parts, "</svg>"])


def _lines(kind: str, lines: list[tuple[float, ...]], colour: str, width: float) -> str:
    d = "".join(f"M{x1:g} {y1:g}L{x2:g} {y2:g}" for x1, y1, x2, y2 in lines)
    return f'<path class="{kind}" d="{d}" stroke="{colour}" stroke-width="{width:g}"/>'


def _polyline(trace: Trace) -> str:
    points = np.round(np.column_stack((trace.x, trace.y)).ravel(), 2).tolist()
    return (
        f'<polyline class="{"rhythm" if trace.rhythm else "lead"}" '
        f'data-lead={quoteattr(trace.label)} data-start-s="{trace.start_s:g}" '
        f'points="{str(points)[1:-1].replace(",", "")}" fill="none" stroke="{INK}" '
        'stroke-width="0.25" stroke-linejoin="round"/>'
    )


def _trace(
    lead: Lead, period_ms: float, start_s: float, seconds: float, base: float,
    *, rhythm: bool = False,
) -> Trace:  # fmt: skip
    first = round(start_s * 1000 / period_ms)
    last = min(len(lead.samples), round((start_s + seconds) * 1000 / period_ms))
    index = np.arange(first, last, max(1, round(_MIN_PERIOD_MS / period_ms)))
    x = LEFT + (start_s + (index - first) * period_ms / 1000) * SPEED_MM_PER_S
    millivolts = (lead.origin + lead.factor * lead.samples[index].astype(np.float64)) / 1000
    return Trace(lead_label(lead.term), start_s, rhythm, x, base - millivolts * GAIN_MM_PER_MV)


def _header(recording: Recording) -> tuple[str, ...]:
    first = [f"{SPEED_MM_PER_S:g} mm/s", f"{GAIN_MM_PER_MV:g} mm/mV"]
    first += [text for text in (recording.effective, recording.device) if text]
    figures = [
        f"{m.measure.key} {m.value:g}" + ("°" if m.measure.unit == "deg" else f" {m.measure.unit}")
        for m in recording.measurements
    ]
    lines = (" · ".join(first), " · ".join(figures), " / ".join(recording.statements))
    return tuple(line for line in lines if line)
