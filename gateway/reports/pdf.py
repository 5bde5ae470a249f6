"""The signed report as a PDF (A4, zh-CN), laid out as Chinese hospitals print it: the
hospital and centre, the recognition mark (互认标识) at the top right, the patient and exam,
检查所见 and 诊断意见, then the reporting and verifying doctors with their times.  The CJK font
is embedded (subset to the glyphs used), so any reader renders it and ``pdftotext`` reads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from fontTools.ttLib import TTFont
from fpdf import FPDF

from gateway.reports import fonts

FAMILY = "NotoSansSC"


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
    findings: str
    impression: str
    author: str
    authored: str
    verifier: str
    verified: str
    amendment: str = ""  # 更正说明, on an amended report

    def texts(self) -> str:
        return "".join(str(v) for v in self.__dict__.values())


@cache
def _cut_covers() -> frozenset[int]:
    font = TTFont(fonts.cut("regular"), lazy=True)
    return frozenset(font.getBestCmap())


def _faces(sheet: Sheet) -> tuple[str, str]:
    """Regular and bold: the GB 2312 cut when it has every character, else the whole font."""
    if all(ord(c) in _cut_covers() or c in "\n\r\t" for c in sheet.texts()):
        return str(fonts.cut("regular")), str(fonts.cut("bold"))
    whole = str(fonts.whole("regular"))
    return whole, whole


def render(sheet: Sheet) -> bytes:
    regular, bold = _faces(sheet)
    pdf = FPDF(format="A4")
    pdf.set_margins(18, 16, 18)
    pdf.set_auto_page_break(True, margin=22)
    pdf.add_font(FAMILY, "", regular)
    pdf.add_font(FAMILY, "B", bold)
    pdf.set_lang("zh-CN")
    pdf.set_title(f"{sheet.hospital}{sheet.title}")
    pdf.set_creator("Yilian 医联")
    pdf.add_page()
    _header(pdf, sheet)
    _facts(pdf, sheet)
    _section(pdf, "检查所见", sheet.findings)
    _section(pdf, "诊断意见", sheet.impression)
    if sheet.amendment:
        _section(pdf, "更正说明", sheet.amendment)
    _signatures(pdf, sheet)
    return bytes(pdf.output())


def _header(pdf: FPDF, sheet: Sheet) -> None:
    pdf.set_font(FAMILY, "", 10)
    width = pdf.epw
    # The recognition mark (e.g. 浙HR) in its box at the top right; the box stays when none.
    pdf.set_xy(pdf.l_margin + width - 28, 12)
    pdf.cell(28, 10, sheet.mark, border=1, align="C")
    pdf.set_xy(pdf.l_margin, 16)
    pdf.set_font(FAMILY, "B", 17)
    pdf.cell(width, 9, sheet.hospital, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, "B", 14)
    pdf.cell(width, 8, f"{sheet.centre}  {sheet.title}", align="C", new_x="LMARGIN", new_y="NEXT")
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
            pdf.set_font(FAMILY, "B", 10)
            pdf.cell(18 if label else 0, 7, label + ("：" if label else ""))
            pdf.set_font(FAMILY, "", 10)
            pdf.cell(column - 18, 7, value)
        pdf.ln(7)
    _rule(pdf)


def _section(pdf: FPDF, heading: str, text: str) -> None:
    pdf.ln(2)
    pdf.set_font(FAMILY, "B", 12)
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
