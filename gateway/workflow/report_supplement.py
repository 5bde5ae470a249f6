"""Supplementary reports (补充报告): a released report supplemented — FHIR's ``appended``
status, "the existing content is unchanged" — e.g. the immunohistochemistry results of a
pathology case that come days after its diagnosis.  The supplement is a ``report-supplement``
extension (its text, when, by whom), and the new results come with it; anything the report
said before that the supplement would change is refused (a correction is ``corrected``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fhir_profiles.profiles import CANONICAL
from gateway.errors import Unprocessable
from storage.fhir import instant
from storage.models import User

SUPPLEMENT = f"{CANONICAL}/StructureDefinition/report-supplement"
SAID = ("code", "conclusion", "conclusionCode", "media")  # what a supplement leaves as it was


def supplemented(current: dict[str, Any], given: dict[str, Any], by: User) -> dict[str, Any]:
    """``current`` with the one new supplement ``given`` carries (its ``text`` part) and the
    contained results it adds."""
    known = [e for e in current.get("extension", []) if e.get("url") == SUPPLEMENT]
    new = [e for e in given.get("extension", []) if e.get("url") == SUPPLEMENT and e not in known]
    text = _part(new[0], "valueString", "text") if len(new) == 1 else ""
    if not text.strip():
        raise Unprocessable("a supplementary report gives its text (one report-supplement "
                            "extension with its text)", [])  # fmt: skip
    for key in SAID:
        if key in given and given[key] != current.get(key):
            raise _changes(key)
    others = {e["url"] for e in given.get("extension", []) if e.get("url") != SUPPLEMENT}
    for url in others:
        if _with(given, url) != _with(current, url):
            raise _changes(url.rsplit("/", 1)[-1])
    had = {c.get("id"): c for c in current.get("contained", [])}
    added = []
    for contained in given.get("contained", []):
        before = had.get(contained.get("id"))
        if before is None:
            added.append(contained)
        elif _as_said(contained) != _as_said(before):
            raise _changes(f"contained {contained.get('id')}")
    supplement = {"url": SUPPLEMENT, "extension": [
        {"url": "text", "valueString": text.strip()},
        {"url": "time", "valueDateTime": instant(datetime.now(UTC))},
        {"url": "by", "valueReference": {"reference": f"Practitioner/{by.username}",
                                         "display": by.display_name}},
    ]}  # fmt: skip
    return current | {
        "extension": [*current.get("extension", []), supplement],
        "contained": [*current.get("contained", []), *added],
        "result": [*current.get("result", []), *({"reference": f"#{c.get('id')}"} for c in added)],
    }


def supplements(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The report's supplements, oldest first: (time, text, who)."""
    return [
        (_part(e, "valueDateTime", "time"), _part(e, "valueString", "text"),
         str(next((p.get("valueReference", {}).get("display", "")
                   for p in e.get("extension", []) if p.get("url") == "by"), "")))
        for e in report.get("extension", []) if e.get("url") == SUPPLEMENT
    ]  # fmt: skip


def _part(extension: dict[str, Any], key: str, url: str) -> str:
    for part in extension.get("extension", []):
        if part.get("url") == url:
            return str(part.get(key, ""))
    return ""


def _with(report: dict[str, Any], url: str) -> list[dict[str, Any]]:
    return [e for e in report.get("extension", []) if e.get("url") == url]


def _as_said(contained: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in contained.items() if k not in ("status", "meta")}


def _changes(what: str) -> Unprocessable:
    return Unprocessable(
        f"a supplementary report adds to the report and changes nothing it said ({what}); "
        "to change it, correct it (kind corrected)",
        [],
    )
