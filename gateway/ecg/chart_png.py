"""The ECG chart of :mod:`gateway.ecg.chart` as a PNG (Pillow), from the same :class:`Sheet`: 8
pixels to the millimetre (203 dpi, true paper scale when printed at that resolution), lines and
traces at least a pixel wide, text in the reports' Noto Sans SC when installed."""

from __future__ import annotations

import io
from functools import cache

import numpy as np
from PIL import Image, ImageColor, ImageDraw, ImageFont

from gateway.ecg.chart import (
    HEIGHT,
    INK,
    LEFT,
    MAJOR,
    MINOR,
    PAPER,
    WIDTH,
    grid,
    pulse,
    separators,
    sheet,
)
from gateway.ecg.recording import Recording
from gateway.reports.fonts import whole

PX_PER_MM = 8
_PALETTE = (PAPER, MINOR, MAJOR, INK)  # indices 0-3
_TEXT_MM = 3.5


@cache
def _font() -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    size = _TEXT_MM * PX_PER_MM
    path = whole("regular")
    return ImageFont.truetype(str(path), size) if path.exists() else ImageFont.load_default(size)


def chart_png(recording: Recording) -> bytes:
    drawn = sheet(recording)
    s = PX_PER_MM
    # Four colours: a palette image, a quarter of the bytes to compress.
    image = Image.new("P", (round(WIDTH * s), round(HEIGHT * s)), 0)
    image.putpalette([c for colour in _PALETTE for c in ImageColor.getrgb(colour)])
    draw = ImageDraw.Draw(image)
    minor, major = grid()
    for lines, colour, width in ((minor, 1, 1), (major, 2, 2)):
        for x1, y1, x2, y2 in lines:
            draw.line((x1 * s, y1 * s, x2 * s, y2 * s), fill=colour, width=width)
    for base in drawn.baselines:
        draw.line([(x * s, y * s) for x, y in pulse(base)], fill=3, width=2)
    for base in drawn.baselines[:3]:
        for x1, y1, x2, y2 in separators(base):
            draw.line((x1 * s, y1 * s, x2 * s, y2 * s), fill=3, width=2)
    for trace in drawn.traces:
        flat = (np.column_stack((trace.x, trace.y)).ravel() * s).tolist()
        draw.line(flat, fill=3, width=2)
    font = _font()
    for n, line in enumerate(drawn.header):
        draw.text((LEFT * s, (5 + 5 * n) * s), line, fill=3, font=font, anchor="ls")
    for x, y, text in drawn.labels:
        draw.text((x * s, y * s), text, fill=3, font=font, anchor="ls")
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=1)
    return out.getvalue()
