"""DICOM person names (PN) for Chinese names, as Chinese modalities show and match them.

A name in Chinese characters is sent with two component groups: the alphabetic one in pinyin
and the ideographic one in the characters, ``Zhang^SanFeng=张^三丰`` (PS3.5 Annex J's
``Wang^XiaoDong=王^小東=``; the empty phonetic group is left off).  Family name and given name
come from the FHIR ``HumanName`` parts; a name given only as text is split after its surname
(compound surnames such as 欧阳 are known).  A surname is read as a surname (单 shan, 曾 zeng).
A name without Chinese characters is sent as it is, alphabetic only: ``Li^Si``.
"""

from __future__ import annotations

import re
from typing import Any

from pypinyin import lazy_pinyin

_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
COMPOUND_SURNAMES = frozenset((
    "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "夏侯",
    "令狐", "司徒", "宇文", "西门", "端木", "独孤", "南宫", "轩辕", "万俟", "单于", "呼延",
    "闻人", "澹台", "公冶", "太史", "申屠", "钟离", "赫连", "第五",
))  # fmt: skip
# Surnames whose reading differs from the character's usual one.
SURNAME_READINGS = {
    "单": "shan", "曾": "zeng", "解": "xie", "查": "zha", "仇": "qiu", "朴": "piao",
    "区": "ou", "盖": "ge", "覃": "qin", "乐": "yue", "缪": "miao", "秘": "bi", "种": "chong",
    "繁": "po", "翟": "zhai", "员": "yun", "召": "shao", "隗": "wei", "尉迟": "yuchi",
    "万俟": "moqi", "长孙": "zhangsun", "单于": "chanyu", "洗": "xian", "黑": "he",
}  # fmt: skip


def has_han(text: str) -> bool:
    return bool(_HAN.search(text))


def split_name(text: str) -> tuple[str, str]:
    """``张三丰`` -> (``张``, ``三丰``); ``欧阳娜娜`` -> (``欧阳``, ``娜娜``)."""
    text = text.strip()
    cut = 2 if text[:2] in COMPOUND_SURNAMES and len(text) > 2 else 1
    return text[:cut], text[cut:]


def _pinyin(text: str, surname: bool = False) -> str:
    if surname:  # one word: Ouyang
        reading = SURNAME_READINGS.get(text) or "".join(lazy_pinyin(text))
        return reading.capitalize()
    return "".join(syllable.capitalize() for syllable in lazy_pinyin(text) if syllable.strip())


def person_name(family: str, given: str) -> str:
    """A PN value from a family and a given name (either may be empty)."""
    family, given = family.strip(), given.strip()
    if not has_han(family + given):
        return f"{family}^{given}".rstrip("^")
    alphabetic = f"{_pinyin(family, surname=True)}^{_pinyin(given)}".rstrip("^")
    ideographic = f"{family}^{given}".rstrip("^")
    return f"{alphabetic}={ideographic}"


def from_text(text: str) -> str:
    """A PN value from a name written as one string (a display)."""
    text = text.strip()
    if not text:
        return ""
    if has_han(text) and " " not in text:
        return person_name(*split_name(text))
    family, _, given = text.partition(" ")
    return person_name(family, given)


def from_human_name(names: list[dict[str, Any]]) -> str:
    """The PN of a FHIR ``HumanName`` list: the official name, else the first."""
    if not names:
        return ""
    name = next((n for n in names if n.get("use") == "official"), names[0])
    family = str(name.get("family") or "")
    given = (
        "".join(name.get("given") or []) if has_han(family) else " ".join(name.get("given") or [])
    )
    if family or given:
        return person_name(family, given)
    return from_text(str(name.get("text") or ""))
