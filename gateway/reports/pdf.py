"""The signed report as a PDF (A4, zh-CN), laid out as Chinese hospitals print it: the
hospital and centre, the recognition mark (互认标识) at the top right, the patient and exam,
检查所见 and 诊断意见, then the reporting and verifying doctors with their times; an ECG
report's 12-lead chart follows on a landscape page at true paper scale.  The CJK font
is embedded (subset to the glyphs used), so any reader renders it and ``pdftotext`` reads it.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache

from fontTools.ttLib import TTFont
from fpdf import FPDF
from fpdf.enums import TextMode

from gateway.reports import fonts

FAMILY = "NotoSansSC"


@dataclass(frozen=True)
class Figure:
    """A picture printed on a landscape page of its own at its true size (an ECG chart)."""

    png: bytes
    width_mm: float
    height_mm: float


@dataclass(frozen=True)
class Sheet:
    """What the report says, as text (times already in local time, ``2026-12-02 14:05``)."""

    hospital: str
    centre: str
    title: str
    mark: str
    patient: str
    sex: str
    age: str
    patient_id: str
    ordering: str
    exam: str
    accession: str
    examined: str
    sections: tuple[tuple[str, str], ...]  # (heading, text): 检查所见, 诊断意见 …
    author: str
    authored: str
    verifier: str
    verified: str
    figure: Figure | None = None  # the 12-lead chart of an ECG report

    def texts(self) -> str:
        said = "".join(heading + text for heading, text in self.sections)
        return said + "".join(v for v in self.__dict__.values() if isinstance(v, str))


@cache
def _cut_covers() -> frozenset[int]:
    font = TTFont(fonts.cut("regular"), lazy=True)
    return frozenset(font.getBestCmap())


def _face(sheet: Sheet) -> str:
    """The GB 2312 cut when it has every character, else the whole font."""
    if all(ord(c) in _cut_covers() or c in "\n\r\t" for c in sheet.texts()):
        return str(fonts.cut("regular"))
    return str(fonts.whole("regular"))


@contextmanager
def _bold(pdf: FPDF, size: float) -> Iterator[None]:
    """Headings in the one embedded face, drawn with a thin outline: a second (bold) face
    would double what each PDF costs to make."""
    pdf.set_font(FAMILY, "", size)
    with pdf.local_context(text_mode=TextMode.FILL_STROKE, line_width=size / 50):
        yield


def render(sheet: Sheet) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_margins(18, 16, 18)
    pdf.set_auto_page_break(True, margin=22)
    pdf.add_font(FAMILY, "", _face(sheet))
    pdf.set_lang("zh-CN")
    pdf.set_title(f"{sheet.hospital}{sheet.title}")
    pdf.set_creator("Yilian 医联")
    pdf.add_page()
    _header(pdf, sheet)
    _facts(pdf, sheet)
    for heading, text in sheet.sections:
        _section(pdf, heading, text)
    _signatures(pdf, sheet)
    if sheet.figure is not None:
        _figure(pdf, sheet.figure)
    return bytes(pdf.output())


def _figure(pdf: FPDF, figure: Figure) -> None:
    """The figure centred on a landscape page, at its size in millimetres (true paper scale)."""
    pdf.add_page(orientation="L")
    x, y = (pdf.w - figure.width_mm) / 2, (pdf.h - figure.height_mm) / 2
    pdf.image(io.BytesIO(figure.png), x=x, y=y, w=figure.width_mm, h=figure.height_mm)


def _header(pdf: FPDF, sheet: Sheet) -> None:
    pdf.set_font(FAMILY, "", 10)
    width = pdf.epw
    # The recognition mark (e.g. 浙HR) in its box at the top right; the box stays when none.
    pdf.set_xy(pdf.l_margin + width - 28, 12)
    pdf.cell(28, 10, sheet.mark, border=1, align="C")
    pdf.set_xy(pdf.l_margin, 16)
    with _bold(pdf, 17):
        pdf.cell(width, 9, sheet.hospital, align="C", new_x="LMARGIN", new_y="NEXT")
    with _bold(pdf, 14):
        title = f"{sheet.centre}  {sheet.title}"
        pdf.cell(width, 8, title, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    _rule(pdf)


def _facts(pdf: FPDF, sheet: Sheet) -> None:
    rows = [
        (("姓名", sheet.patient), ("性别", sheet.sex), ("年龄", sheet.age)),
        (("患者ID", sheet.patient_id), ("检查号", sheet.accession), ("检查时间", sheet.examined)),
        (("申请机构", sheet.ordering), ("检查项目", sheet.exam), ("", "")),
    ]
    column = pdf.epw / 3
    for row in rows:
        for label, value in row:
            with _bold(pdf, 10):
                pdf.cell(18 if label else 0, 7, label + ("：" if label else ""))
            pdf.set_font(FAMILY, "", 10)
            pdf.cell(column - 18, 7, value)
        pdf.ln(7)
    _rule(pdf)


def _section(pdf: FPDF, heading: str, text: str) -> None:
    pdf.ln(2)
    with _bold(pdf, 12):
        pdf.cell(0, 8, heading, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, "", 11)
    pdf.multi_cell(0, 7, text or "（无）", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)


def _signatures(pdf: FPDF, sheet: Sheet) -> None:
    pdf.ln(4)
    _rule(pdf)
    pdf.set_font(FAMILY, "", 10)
    half = pdf.epw / 2
    pdf.cell(half, 8, f"报告医师：{sheet.author}    {sheet.authored}")
    pdf.cell(half, 8, f"审核医师：{sheet.verifier}    {sheet.verified}", align="R",
             new_x="LMARGIN", new_y="NEXT")  # fmt: skip
    pdf.set_font(FAMILY, "", 8)
    pdf.cell(0, 6, "本报告经审核医师签发后生效，仅供临床参考。", align="C")


def _rule(pdf: FPDF) -> None:
    y = pdf.get_y()
    pdf.line(pdf.l_margin, y, pdf.l_margin + pdf.epw, y)
    pdf.ln(2)
