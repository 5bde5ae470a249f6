"""A Modality Worklist C-FIND identifier: its keys, matched as PS3.4 K.6 and C.2.2.2 say.

- an empty key is universal: returned, not matched; a key Yilian does not keep is returned empty;
- a single value matches exactly; a value with ``*`` or ``?`` is a wildcard match; person names
  match case-insensitively against the whole name, either component group (pinyin or
  characters), with or without the ``^`` between family and given name;
- dates and times match as a single value or a range (``a-b``, ``-b``, ``a-``), each on its own
  (no combined date-time matching is negotiated); an order scheduled for a day without a time
  matches any time;
- UIDs match any of a backslash-separated list;
- the Scheduled Procedure Step Sequence holds one item whose keys are matched the same way.

An identifier that is not a worklist one (a step sequence of several items, a sequence key that
is not a sequence) is :class:`NotWorklist` (0xA900); a value that cannot be read (a date that
is not YYYYMMDD) is :class:`UnreadableValue` (0xC000).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

from pydicom import config
from pydicom.datadict import dictionary_VR
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence
from pydicom.tag import BaseTag

from dicom_node.worklist_items import ITEM_KEYS, STEP_KEYS, Item
from storage.fhir import Narrowing

STEP_SEQUENCE = "ScheduledProcedureStepSequence"
_DATE = re.compile(r"^\d{8}$")
_TIME = re.compile(r"^\d{2}(\d{2}(\d{2}(\.\d{1,6})?)?)?$")
_UTC = ZoneInfo("UTC")


class NotWorklist(ValueError):
    """The identifier does not match the Modality Worklist information model."""


class UnreadableValue(ValueError):
    """A key's value cannot be read (its VR's format, a range)."""


@dataclass(frozen=True, slots=True)
class Asked:
    """A key to return, read from the identifier once per query (not once per answer)."""

    tag: BaseTag
    vr: str
    keyword: str


@dataclass(frozen=True, slots=True)
class Query:
    identifier: Dataset
    keys: dict[str, tuple[str, str]]  # keyword -> (VR, value) of the item's non-empty keys
    step: dict[str, tuple[str, str]]  # the same for the step's keys
    asked: tuple[Asked, ...]  # the item's keys to return, in order (the step sequence too)
    step_asked: tuple[Asked, ...]  # the step keys to return (all of them if none is named)


def parse_query(identifier: Dataset) -> Query:
    keys: dict[str, tuple[str, str]] = {}
    step: dict[str, tuple[str, str]] = {}
    asked: list[Asked] = []
    step_asked: list[DataElement] = []
    for element in identifier:
        if element.keyword == "SpecificCharacterSet":
            continue
        asked.append(Asked(element.tag, _vr(element), element.keyword))
        if element.keyword == STEP_SEQUENCE:
            step_asked = _step_keys(element, step)
        elif element.VR != "SQ" and (value := _value(element)) and element.keyword in ITEM_KEYS:
            keys[element.keyword] = (_vr(element), _checked(element, value))
    in_step = tuple(Asked(e.tag, _vr(e), e.keyword) for e in step_asked)
    return Query(identifier, keys, step, tuple(asked), in_step)


def _step_keys(element: DataElement, step: dict[str, tuple[str, str]]) -> list[DataElement]:
    if not isinstance(element.value, Sequence | list):
        raise NotWorklist("the Scheduled Procedure Step Sequence is not a sequence")
    if len(element.value) > 1:
        raise NotWorklist("a worklist query has one Scheduled Procedure Step item")
    if not element.value:
        return []
    asked = list(element.value[0])
    for key in asked:
        if key.VR != "SQ" and (value := _value(key)) and key.keyword in STEP_KEYS:
            step[key.keyword] = (_vr(key), _checked(key, value))
    return asked


def _value(element: DataElement) -> str:
    value = element.value
    if value is None:
        return ""
    items = list(value) if isinstance(value, MultiValue | list | tuple) else [value]
    return "\\".join(str(v).strip() for v in items if str(v).strip())


def _vr(element: DataElement) -> str:
    if element.VR not in ("UN", ""):
        return str(element.VR)
    try:
        return str(dictionary_VR(element.tag))
    except KeyError:
        return "UN"


def _checked(element: DataElement, value: str) -> str:
    vr = _vr(element)
    pattern = {"DA": _DATE, "TM": _TIME}.get(vr)
    if pattern is not None:
        low, _, high = value.partition("-")
        bounds = [b.strip() for b in (low, high) if b.strip()]
        if not bounds or any(not pattern.match(b) for b in bounds) or "\\" in value:
            raise UnreadableValue(f"{element.keyword} is not a {vr} value or range")
        if vr == "DA":
            for bound in bounds:
                _day(bound, element.keyword)
    return value


def _day(text: str, keyword: str) -> datetime:
    try:
        return datetime.strptime(text, "%Y%m%d")
    except ValueError:
        raise UnreadableValue(f"{keyword} is not a date") from None


def narrowing(query: Query, zone: ZoneInfo) -> Narrowing:
    """What the order index can narrow by: the step's start date range (local days, as UTC),
    a single accession number, a single patient identifier, the modalities asked."""
    start = end = None
    dates = query.step.get("ScheduledProcedureStepStartDate")
    if dates is not None:
        low, dash, high = dates[1].partition("-")
        if low:
            start = _utc(datetime.combine(_day(low, "date"), time.min), zone)
        if high or not dash:
            end = _utc(datetime.combine(_day(high or low, "date"), time.max), zone)
    modality = query.step.get("Modality")
    return Narrowing(
        start,
        end,
        _single(query.keys.get("AccessionNumber")),
        _single(query.keys.get("PatientID")),
        _listed(modality),
    )


def _utc(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.replace(tzinfo=zone).astimezone(_UTC).replace(tzinfo=None, microsecond=0)


def _listed(key: tuple[str, str] | None) -> tuple[str, ...]:
    """A value or list of values without wildcards (``CT``, ``CT\\MR``)."""
    if key is None or any(c in key[1] for c in "*?"):
        return ()
    return tuple(key[1].split("\\"))


def _single(key: tuple[str, str] | None) -> tuple[str, ...]:
    if key is None or any(c in key[1] for c in "*?\\"):
        return ()
    return (key[1],)


def matches(query: Query, item: Item) -> bool:
    keys = ((item.values, query.keys), (item.step, query.step))
    return all(
        _match(vr, value, values.get(keyword, ""))
        for values, asked in keys
        for keyword, (vr, value) in asked.items()
    )


def _match(vr: str, query: str, value: str) -> bool:
    if vr in ("DA", "TM"):
        return _in_range(vr, query, value)
    if vr == "PN":
        return any(_pn_match(alternative, value) for alternative in query.split("\\"))
    return any(_wildcard(alternative, value) for alternative in query.split("\\"))


def _in_range(vr: str, query: str, value: str) -> bool:
    if not value:
        return vr == "TM"  # a day without a time is scheduled at any time of it
    low, dash, high = query.partition("-")
    if not dash:
        return value.startswith(low) if vr == "TM" else value == low
    return (not low or value >= low) and (not high or value[: len(high)] <= high)


def _wildcard(pattern: str, value: str, fold: bool = False) -> bool:
    if fold:
        pattern, value = pattern.lower(), value.lower()
    if "*" not in pattern and "?" not in pattern:
        return pattern == value
    expression = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(expression, value, re.DOTALL) is not None


def _pn_match(query: str, value: str) -> bool:
    groups = value.split("=")
    if "=" in query:  # group by group; an empty group of the query is universal
        return all(
            not part or _wildcard(part, groups[i] if i < len(groups) else "", fold=True)
            for i, part in enumerate(query.split("="))
        )
    forms = {value, *groups, *(g.replace("^", "") for g in groups)}
    forms |= {g.replace("^", " ").strip() for g in groups}
    return any(_wildcard(query, form, fold=True) for form in forms if form)


def answer(query: Query, item: Item) -> Dataset:
    """The response identifier: exactly the keys asked, with the item's values."""
    result = Dataset()
    result.SpecificCharacterSet = "ISO_IR 192"
    for key in query.asked:
        if key.keyword == STEP_SEQUENCE:
            result.add_new(key.tag, "SQ", [_step(query, item)])
        elif key.vr == "SQ":
            result.add_new(key.tag, "SQ", [])
        else:
            _put(result, key, item.values.get(key.keyword, ""))
    return result


def _put(data: Dataset, key: Asked, value: str) -> None:
    """The value as the key's VR (values made here are valid: not checked again)."""
    data.add(DataElement(key.tag, key.vr, value or None, validation_mode=config.IGNORE))


def _step(query: Query, item: Item) -> Dataset:
    step = Dataset()
    if not query.step_asked:
        for keyword in STEP_KEYS:
            setattr(step, keyword, item.step[keyword] or None)
        return step
    for key in query.step_asked:
        if key.vr == "SQ":
            step.add_new(key.tag, "SQ", [])
        else:
            _put(step, key, item.step.get(key.keyword, ""))
    return step
