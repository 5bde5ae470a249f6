"""A 12-lead ECG drawn as SVG on standard ECG paper: 25 mm/s, 10 mm/mV, 1 mm and 5 mm grid
lines, a 1 mV calibration pulse (200 ms wide) at the start of every row, the leads 3 × 4 (each
column 2.5 s of the same moment: I II III, aVR aVL aVF, V1 V2 V3, V4 V5 V6) and a 10 s lead II
rhythm strip, lead labels; speed, gain, the device's measurements and statements printed above.

The drawing's user unit is the millimetre (``width="…mm"`` and its ``viewBox`` agree), so a
printer at 100 % prints true paper scale.  Traces are drawn at no more than 500 points per
second (0.05 mm apart at 25 mm/s)."""

from __future__ import annotations

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
WIDTH = LEFT + SPEED_MM_PER_S * CELL_SECONDS * 4 + 10.0
HEIGHT = TOP + ROW * 4 + 5.0
_MIN_PERIOD_MS = 2.0  # 500 points per second at most
_PAPER = "#fffafa"
_MINOR, _MAJOR, _INK = "#f6c6c6", "#e58a8a", "#111111"


def chart_svg(recording: Recording) -> str:
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH:g}mm" height="{HEIGHT:g}mm" '
        f'viewBox="0 0 {WIDTH:g} {HEIGHT:g}" font-family="sans-serif">',
        f'<rect width="{WIDTH:g}" height="{HEIGHT:g}" fill="{_PAPER}"/>',
        *_grid(),
        *_header(recording),
    ]
    for row, terms in enumerate(LAYOUT):
        base = _baseline(row)
        parts.append(_calibration(base))
        for column, term in enumerate(terms):
            if (lead := recording.lead(term)) is not None:
                start = column * CELL_SECONDS
                parts.append(_trace(lead, recording.period_ms, start, CELL_SECONDS, base))
                parts.append(_label(term, LEFT + column * SPEED_MM_PER_S * CELL_SECONDS, base))
            if column:
                x = LEFT + column * SPEED_MM_PER_S * CELL_SECONDS
                parts.append(
                    f'<path d="M{x:g} {base - 4:g}v8" stroke="{_INK}" stroke-width="0.3"/>'
                )
    rhythm = recording.lead(RHYTHM_LEAD) or recording.leads[0]
    base = _baseline(3)
    parts += [
        _calibration(base),
        _trace(rhythm, recording.period_ms, 0.0, 4 * CELL_SECONDS, base, rhythm_strip=True),
        _label(rhythm.term, LEFT, base),
        "</svg>",
    ]
    return "\n".join(parts)


def _baseline(row: int) -> float:
    return TOP + ROW * row + ROW / 2


def _grid() -> list[str]:
    """Vertical and horizontal lines every millimetre, every fifth one darker and wider."""
    minor, major = [], []
    for x in range(int(WIDTH) + 1):
        (major if x % 5 == 0 else minor).append(f"M{x} {TOP:g}V{HEIGHT:g}")
    for y in range(int(TOP), int(HEIGHT) + 1):
        (major if (y - int(TOP)) % 5 == 0 else minor).append(f"M0 {y}H{WIDTH:g}")
    return [
        f'<path class="grid-minor" d="{"".join(minor)}" stroke="{_MINOR}" stroke-width="0.1"/>',
        f'<path class="grid-major" d="{"".join(major)}" stroke="{_MAJOR}" stroke-width="0.2"/>',
    ]


def _calibration(base: float) -> str:
    """1 mV high, 200 ms wide: 10 mm × 5 mm at this paper's speed and gain."""
    high = GAIN_MM_PER_MV * 1.0
    wide = SPEED_MM_PER_S * 0.2
    return (
        f'<path class="calibration" d="M2 {base:g}h1v{-high:g}h{wide:g}v{high:g}h1" '
        f'fill="none" stroke="{_INK}" stroke-width="0.3"/>'
    )


def _trace(
    lead: Lead, period_ms: float, start_s: float, seconds: float, base: float,
    *, rhythm_strip: bool = False,
) -> str:  # fmt: skip
    first = round(start_s * 1000 / period_ms)
    last = min(len(lead.samples), round((start_s + seconds) * 1000 / period_ms))
    step = max(1, round(_MIN_PERIOD_MS / period_ms))
    index = np.arange(first, last, step)
    x = LEFT + (start_s + (index - first) * period_ms / 1000) * SPEED_MM_PER_S
    millivolts = (lead.origin + lead.factor * lead.samples[index].astype(np.float64)) / 1000
    y = base - millivolts * GAIN_MM_PER_MV
    points = np.round(np.column_stack((x, y)).ravel(), 2).tolist()
    kind = "rhythm" if rhythm_strip else "lead"
    return (
        f'<polyline class="{kind}" data-lead={quoteattr(lead_label(lead.term))} '
        f'data-start-s="{start_s:g}" points="{str(points)[1:-1].replace(",", "")}" '
        f'fill="none" stroke="{_INK}" stroke-width="0.25" stroke-linejoin="round"/>'
    )


def _label(term: int, x: float, base: float) -> str:
    return (
        f'<text x="{x + 1:g}" y="{base - 12:g}" font-size="3.5" fill="{_INK}">'
        f"{escape(lead_label(term))}</text>"
    )


def _header(recording: Recording) -> list[str]:
    first = [f"{SPEED_MM_PER_S:g} mm/s", f"{GAIN_MM_PER_MV:g} mm/mV"]
    first += [text for text in (recording.effective, recording.device) if text]
    figures = [
        f"{m.measure.key} {m.value:g}" + ("°" if m.measure.unit == "deg" else f" {m.measure.unit}")
        for m in recording.measurements
    ]
    lines = [" · ".join(first), " · ".join(figures), "；".join(recording.statements)]
    return [
        f'<text x="{LEFT:g}" y="{5 + 5 * n}" font-size="3.5" fill="{_INK}">{escape(line)}</text>'
        for n, line in enumerate(lines)
        if line
    ]
