"""The mutual-recognition mark (互认标识, e.g. 浙HR) and what a result is for as the
recognition catalogue's items match it — the part every service shares: the gateway marks a
report when it is verified or amended, the lab bridge a lab result as it arrives.

A released result (``final``, ``amended``, ``corrected``) is marked when it is an item of the
catalogue of the issuer's alliances (an imaging or ECG result's modality and body site, a lab
result's LOINC) and the issuer held a QC / EQA pass for the item's group on the day the result
was obtained (:func:`obtained`, Beijing date) — the same rules that make it recognisable for a
later order.  The mark is an extension (``MARK_EXTENSION``: what the printed report shows at
its top right) and a ``meta.tag`` (``MARK_TAG``, code the mark: what ``_tag`` finds).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from storage.clinical.recognition import qualified_items
from storage.exam_codes import LOINC, order_modality
from storage.models import RecognitionItem

_CANONICAL = "http://yilian.example/fhir"  # fhir_profiles' CANONICAL (storage imports none)
MARK_EXTENSION = f"{_CANONICAL}/StructureDefinition/recognition-mark"
MARK_TAG = f"{_CANONICAL}/CodeSystem/recognition-mark"
RELEASED = frozenset({"final", "amended", "corrected", "appended"})
BEIJING = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class Asked:
    """What an order (or a result, or the order a report answers) is for."""

    modality: str | None
    body_sites: frozenset[str]
    loinc: frozenset[str]


def asked(resource: dict[str, Any]) -> Asked:
    """What ``resource`` says it is for by its own codes: the modality, the body sites, the
    LOINC codes of its ``code``."""
    sites = {
        str(coding["code"])
        for site in resource.get("bodySite", [])
        for coding in site.get("coding", [])
        if coding.get("code")
    }
    codes = (resource.get("code") or {}).get("coding", [])
    loinc = {str(c["code"]) for c in codes if c.get("system") == LOINC and c.get("code")}
    return Asked(order_modality(resource), frozenset(sites), frozenset(loinc))


def matches(item: RecognitionItem, what: Asked) -> bool:
    wanted = item.matches
    if "loinc" in wanted:
        return wanted["loinc"] in what.loinc
    if wanted.get("modality") != what.modality:
        return False
    sites = set(wanted.get("body_sites", []))
    return not sites or bool(sites & what.body_sites)


def obtained(resource: dict[str, Any]) -> datetime | None:
    """When the result was obtained: the exam or specimen time, else when it was issued."""
    value = (
        resource.get("effectiveDateTime")
        or (resource.get("effectivePeriod") or {}).get("start")
        or resource.get("issued")
    )
    if not isinstance(value, str) or len(value) < 10:
        return None
    if len(value) == 10:
        value += "T00:00:00+08:00"
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=BEIJING)


def marking_day(resource: dict[str, Any]) -> date | None:
    """The day (Beijing date) the issuer's qualification is looked up for: when the result was
    obtained; None when it is not released (nothing to mark) or not dated."""
    when = obtained(resource)
    if resource.get("status") not in RELEASED or when is None:
        return None
    return when.astimezone(BEIJING).date()


def marked(
    session: Session, resource: dict[str, Any], issuer: str, what: Asked | None = None
) -> dict[str, Any]:
    """``resource`` (an Observation or a DiagnosticReport) with its mark when it is released,
    an item of the issuer's alliances' catalogue and the issuer was qualified for the item on
    the day it was obtained; else ``resource`` as it is.  ``what``: what it is for, when more
    than its own codes say (a report: its order, its images)."""
    day = marking_day(resource)
    if day is None:
        return resource
    return mark_with(resource, qualified_items(session, issuer, day), what)


def mark_with(
    resource: dict[str, Any], items: Iterable[RecognitionItem], what: Asked | None = None
) -> dict[str, Any]:
    """``resource`` with the mark of the first of ``items`` it is (by ``what``, else by its
    own codes), or as it is."""
    what = what or asked(resource)
    for item in items:
        if matches(item, what):
            return with_mark(resource, item.mark, item.name)
    return resource


def with_mark(resource: dict[str, Any], mark: str, name: str) -> dict[str, Any]:
    """A copy of ``resource`` carrying ``mark`` (the extension, and a tag shown
    ``名称（mark）``) in place of any mark it had."""
    extensions = [e for e in resource.get("extension", []) if e.get("url") != MARK_EXTENSION]
    meta = resource.get("meta", {})
    tags = [t for t in meta.get("tag", []) if t.get("system") != MARK_TAG]
    return resource | {
        "extension": [*extensions, {"url": MARK_EXTENSION, "valueString": mark}],
        "meta": meta | {"tag": [*tags, {"system": MARK_TAG, "code": mark,
                                        "display": f"{name}（{mark}）"}]},
    }  # fmt: skip


def mark_of(resource: dict[str, Any]) -> str | None:
    """The mark ``resource`` carries, if any."""
    for extension in resource.get("extension", []):
        if extension.get("url") == MARK_EXTENSION:
            return str(extension.get("valueString") or "") or None
    return None
