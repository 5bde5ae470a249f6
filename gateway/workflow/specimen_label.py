"""A pathology specimen's label (标本条码标签), 50 × 30 mm as label printers take it: the
specimen number as a Code 128 symbol (encoded by python-barcode: start, data with the code-set
switches it picks, check symbol, stop) and in plain digits, then the patient's name, sex and
age, the body site, the sending hospital and the collection time (Beijing). One SVG unit is one
millimetre; the bars are whole ``rect``s, so any printer driver and any decoder sees them as
they are."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from barcode import get_barcode_class

from gateway.workflow.form_text import age_text, local_minute, moment, patient_name, sex_text

WIDTH, HEIGHT = 50.0, 30.0  # mm
QUIET = 10  # modules of quiet zone each side (ISO/IEC 15417)
BAR_TOP, BAR_HEIGHT = 1.5, 9.0
FONT = "Noto Sans SC, Source Han Sans SC, Microsoft YaHei, SimHei, sans-serif"


@dataclass(frozen=True)
class Label:
    number: str
    patient: str
    sex_age: str
    body_site: str
    sender: str
    collected: str


def modules(number: str) -> str:
    """The Code 128 symbol of ``number`` as modules, ``1`` a bar and ``0`` a space."""
    return str(get_barcode_class("code128")(number).build()[0])


def label_of(specimen: dict[str, Any], patient: dict[str, Any], sender: str) -> Label:
    collection = specimen.get("collection", {})
    site = collection.get("bodySite", {})
    site_text = site.get("text") or next(
        (c.get("display") for c in site.get("coding", []) if c.get("display")), ""
    )
    pieces = (collection.get("quantity") or {}).get("value")
    collected = moment(collection.get("collectedDateTime"))
    return Label(
        number=str((specimen.get("accessionIdentifier") or {}).get("value", "")),
        patient=patient_name(patient),
        sex_age=" ".join(
            p for p in (sex_text(patient), age_text(patient.get("birthDate"), collected)) if p
        ),
        body_site=f"{site_text} {int(pieces)}块" if pieces else site_text,
        sender=sender,
        collected=local_minute(collected),
    )


def label_svg(label: Label) -> str:
    bars = modules(label.number)
    module = WIDTH / (len(bars) + 2 * QUIET)
    rects = []
    start = None
    for index, bit in enumerate(bars + "0"):
        if bit == "1" and start is None:
            start = index
        elif bit == "0" and start is not None:
            x = (QUIET + start) * module
            rects.append(f'<rect x="{x:.4f}" y="{BAR_TOP}" width="{(index - start) * module:.4f}" '
                         f'height="{BAR_HEIGHT}"/>')  # fmt: skip
            start = None
    lines = [
        (12.8, 2.6, label.number, "middle", WIDTH / 2),
        (17.0, 3.2, f"{label.patient}  {label.sex_age}", "start", 2.0),
        (20.8, 2.6, label.body_site, "start", 2.0),
        (24.5, 2.4, label.sender, "start", 2.0),
        (28.0, 2.4, f"采集 {label.collected}", "start", 2.0),
    ]
    texts = [
        f'<text x="{x}" y="{y}" font-size="{size}" text-anchor="{anchor}">{escape(text)}</text>'
        for y, size, text, anchor, x in lines
    ]
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" '
        f'width="{WIDTH:g}mm" height="{HEIGHT:g}mm" viewBox="0 0 {WIDTH:g} {HEIGHT:g}">'
        f'<rect width="{WIDTH:g}" height="{HEIGHT:g}" fill="#fff"/>'
        f'<g fill="#000">{"".join(rects)}</g>'
        f'<g font-family="{FONT}" fill="#000">{"".join(texts)}</g></svg>'
    )
