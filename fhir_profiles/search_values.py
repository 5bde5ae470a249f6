"""The values a resource is found by: every R4 SearchParameter of its type
(``r4/search-parameters.json``, built from the official definitions) evaluated with FHIRPath
(fhirpathpy, R4 model) at write time, turned into index rows by parameter type.

- token: ``system`` + ``code`` (Coding, CodeableConcept codings, Identifier, ContactPoint, code,
  boolean), and the CodeableConcept's text for ``:text``;
- string: every text part of a string, HumanName or Address, lower-cased;
- date: the range ``[low, high]`` a date, dateTime, instant or Period covers, as UTC-naive ISO
  strings (a date "2026-11" covers the whole month);
- reference: ``Type/id`` (or the absolute URL / canonical as given);
- quantity: value, system, code;  uri: the URI;  number: the value.
"""

from __future__ import annotations

import calendar
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from fhirpathpy import compile as compile_fhirpath
from fhirpathpy.models import models

DEFINITIONS = Path(__file__).with_name("r4") / "search-parameters.json"
_DATE = re.compile(
    r"^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?"
    r"(Z|[+-]\d{2}:\d{2})?)?)?)?$"
)


@dataclass(frozen=True, slots=True)
class SearchValue:
    param: str
    kind: str
    system: str | None = None
    code: str | None = None
    text: str | None = None
    low: str | None = None
    high: str | None = None
    number: float | None = None


@dataclass(frozen=True, slots=True)
class Parameter:
    code: str
    kind: str
    evaluate: Callable[[Any, dict[str, Any]], list[Any]]
    targets: tuple[str, ...] = ()
    # The top-level elements a value can come from: absent all, there is none (None: unknown).
    needs: frozenset[str] | None = None


# Parameters whose value is a column of the store, not an index row.
NOT_INDEXED = {"_id", "_lastUpdated"}
# The simple expressions (654 of the 660 parameters): element paths, a union of them, a type
# filter (and elements under it) or a ``where`` on a reference prefix or a telecom system; and
# the extensions of a url (``_EXTENSION``).
_PATH = re.compile(
    r"^\(?(?P<path>[A-Z]\w*(?:\.[a-z]\w*)+)"
    r"(?:\.ofType\((?P<of>\w+)\)(?P<tail>(?:\.[a-z]\w*)*)| as (?P<as>\w+)"
    r"|\.where\(reference\.startsWith\('(?P<prefix>\w+/)'\)\)"
    r"|\.where\(system='(?P<system>[\w-]+)'\))?\)?$"
)
_EXTENSION = re.compile(r"[A-Z]\w*\.extension\('(?P<url>[^'\\]+)'\)")
_R4 = models["r4"]
# Expressions with a value even when the elements they name are absent (``deceased``: false).
_ANSWERS_ON_ABSENCE = re.compile(r"exists\(|empty\(|not\(|count\(|iif\(| and | or |=")


@cache
def parameters(resource_type: str) -> tuple[Parameter, ...]:
    definitions = json.loads(DEFINITIONS.read_text())
    return tuple(
        Parameter(d["code"], d["type"], evaluate, tuple(d.get("target", ())), needs)
        for d in definitions.get(resource_type, [])
        for evaluate, needs in [_compile(d["expression"])]
    )


@cache
def _indexed(resource_type: str) -> tuple[Parameter, ...]:
    return tuple(p for p in parameters(resource_type) if p.code not in NOT_INDEXED)


_Evaluator = Callable[[Any, dict[str, Any]], list[Any]]


def _compile(expression: str) -> tuple[_Evaluator, frozenset[str] | None]:
    """An evaluator, and the top-level elements it needs: the simple expressions walk the JSON
    directly (fhirpathpy gives the same values, tests/integration/fhir/test_r4_examples.py
    checks it on every example, about 30 times slower); the others are left to fhirpathpy."""
    walks = [_walk(part.strip()) for part in expression.split(" | ")]
    if all(walk is not None for walk in walks):
        walkers = [walk for walk, _ in walks]  # type: ignore[misc]
        needs = frozenset(key for _, keys in walks for key in keys)  # type: ignore[misc]
        if len(walkers) == 1:
            return (lambda resource, _env: walkers[0](resource)), needs
        return (lambda resource, _env: _distinct(v for w in walkers for v in w(resource))), needs
    evaluate = fhirpath(expression)
    if _ANSWERS_ON_ABSENCE.search(expression):
        return evaluate, None
    # Without any element the expression starts from it has no value (choice types:
    # ``value`` -> ``valueString``, ...): a resource without them is not evaluated at all.
    needs = frozenset(
        key
        for resource_type, name in re.findall(r"\b([A-Z]\w*)\.([a-z]\w*)", expression)
        for key in _json_keys(resource_type, name)
    )
    return evaluate, needs


def _json_keys(resource_type: str, name: str) -> list[str]:
    """The JSON keys element ``name`` of ``resource_type`` may be under."""
    choices = _R4["choiceTypePaths"].get(f"{resource_type}.{name}")
    return [name + c[0].upper() + c[1:] for c in choices] if choices else [name]


def _distinct(values: Iterable[Any]) -> list[Any]:
    """A FHIRPath union: without repeats."""
    kept: list[Any] = []
    for value in values:
        if value not in kept:
            kept.append(value)
    return kept


def fhirpath(expression: str) -> Callable[[Any, dict[str, Any]], list[Any]]:
    return compile_fhirpath(expression, _R4)


def _walk(part: str) -> tuple[Callable[[dict[str, Any]], list[Any]], tuple[str, ...]] | None:
    """A walker of a simple path, and the top-level keys it starts from."""
    extension = _EXTENSION.fullmatch(part)
    if extension is not None:  # Type.extension('url'): the resource's extensions of that url
        return _extensions_of(extension["url"]), ("extension",)
    match = _PATH.match(part)
    if match is None:
        return None
    resource_type, *names = match["path"].split(".")
    steps: list[tuple[str, ...]] = []  # the JSON keys each step may be under
    parent = resource_type
    wanted = match["of"] or match["as"]
    for position, name in enumerate(names):
        path = f"{parent}.{name}"
        choices = _R4["choiceTypePaths"].get(path)
        if choices:
            last = position == len(names) - 1
            if wanted and last:
                choices = [c for c in choices if c.lower() == wanted.lower()]
            elif wanted:
                return None
            steps.append(tuple(name + c[0].upper() + c[1:] for c in choices))
        else:
            steps.append((name,))
        parent = _R4["pathsDefinedElsewhere"].get(path) or (
            path if _R4["path2Type"].get(path) in (None, "BackboneElement", "Element")
            else _R4["path2Type"][path]
        )  # fmt: skip
    if wanted and not _R4["choiceTypePaths"].get(path):
        return None  # a type filter on a non-choice element: leave it to FHIRPath
    steps += [(name,) for name in (match["tail"] or ".")[1:].split(".") if name]
    prefix, system = match["prefix"], match["system"]

    def walk(resource: dict[str, Any]) -> list[Any]:
        nodes: list[Any] = [resource]
        for keys in steps:
            found: list[Any] = []
            for node in nodes:
                if isinstance(node, dict):
                    collect(node, keys, found)
            nodes = found
        if prefix:
            return [n for n in nodes if str(n.get("reference", "")).startswith(prefix)]
        if system:
            return [n for n in nodes if n.get("system") == system]
        return nodes

    return walk, steps[0]


def collect(node: dict[str, Any], keys: tuple[str, ...], found: list[Any]) -> None:
    """Add the values of ``node`` under ``keys`` to ``found``, a list's items one by one (what
    a FHIRPath step gives)."""
    for key in keys:
        value = node.get(key)
        if isinstance(value, list):
            found.extend(value)
        elif value is not None:
            found.append(value)


def _extensions_of(url: str) -> Callable[[dict[str, Any]], list[Any]]:
    def walk(resource: dict[str, Any]) -> list[Any]:
        found = resource.get("extension", [])
        return [e for e in found if isinstance(e, dict) and e.get("url") == url]

    return walk


def reference_targets(resource_type: str, code: str) -> tuple[str, ...]:
    """The resource types a reference parameter may point at."""
    return next((p.targets for p in parameters(resource_type) if p.code == code), ())


def search_parameter_codes(resource_type: str) -> dict[str, str]:
    """``code -> type`` of every search parameter of the type."""
    return {p.code: p.kind for p in parameters(resource_type)}


def extract(resource: dict[str, Any]) -> list[SearchValue]:
    values: list[SearchValue] = []
    for parameter in _indexed(resource["resourceType"]):
        if parameter.needs is not None and parameter.needs.isdisjoint(resource):
            continue
        found = parameter.evaluate(resource, {})
        for item in found:
            values.extend(_convert(parameter, item))
    return list(dict.fromkeys(values))


def _convert(parameter: Parameter, item: Any) -> Iterator[SearchValue]:
    code, kind = parameter.code, parameter.kind
    if kind == "token":
        yield from _tokens(code, item)
    elif kind == "string":
        for text in _texts(item):
            yield SearchValue(code, kind, text=text.lower())
    elif kind == "date":
        span = _span(item)
        if span:
            yield SearchValue(code, kind, low=span[0], high=span[1])
    elif kind == "reference":
        target = item.get("reference") if isinstance(item, dict) else item
        if isinstance(target, str) and target:
            yield SearchValue(code, kind, code=target)
            if "/_history/" in target:  # found by the unversioned reference too (R4 3.1.1.4.9)
                yield SearchValue(code, kind, code=target.split("/_history/")[0])
    elif kind == "quantity" and isinstance(item, dict) and "value" in item:
        unit = item.get("code") or item.get("unit")
        yield SearchValue(
            code, kind, system=item.get("system"), code=unit, number=float(item["value"])
        )
    elif kind == "uri" and isinstance(item, str):
        yield SearchValue(code, kind, code=item)
    elif kind == "number" and isinstance(item, int | float) and not isinstance(item, bool):
        yield SearchValue(code, kind, number=float(item))


def _tokens(code: str, item: Any) -> Iterator[SearchValue]:
    if isinstance(item, bool):
        yield SearchValue(code, "token", code="true" if item else "false")
    elif isinstance(item, str | int):
        yield SearchValue(code, "token", code=str(item))
    elif isinstance(item, dict):
        if "coding" in item or ("text" in item and "value" not in item):
            for coding in item.get("coding", []):
                yield SearchValue(
                    code,
                    "token",
                    system=coding.get("system"),
                    code=coding.get("code"),
                    text=(coding.get("display") or "").lower() or None,
                )
            if item.get("text"):
                yield SearchValue(code, "token", text=item["text"].lower())
        elif "code" in item or ("system" in item and "value" not in item):
            yield SearchValue(
                code,
                "token",
                system=item.get("system"),
                code=item.get("code"),
                text=(item.get("display") or "").lower() or None,
            )
        elif "value" in item:  # Identifier, ContactPoint
            yield SearchValue(code, "token", system=item.get("system"), code=str(item["value"]))


def _texts(item: Any) -> Iterator[str]:
    if isinstance(item, str):
        yield item
    elif isinstance(item, dict):
        for key, value in item.items():
            if key in ("use", "period", "type", "extension", "id"):
                continue
            yield from _texts(value)
    elif isinstance(item, list):
        for value in item:
            yield from _texts(value)


def _span(item: Any) -> tuple[str, str] | None:
    if isinstance(item, str):
        return date_range(item)
    if isinstance(item, dict) and ("start" in item or "end" in item):
        start = date_range(item["start"]) if "start" in item else None
        end = date_range(item["end"]) if "end" in item else None
        return (
            start[0] if start else "0001-01-01T00:00:00",
            end[1] if end else "9999-12-31T23:59:59",
        )
    return None


def date_range(text: str) -> tuple[str, str] | None:
    """The UTC span a FHIR date/dateTime/instant covers, at its precision (None when it is not
    a date that exists; a leap second counts as the minute's last second)."""
    match = _DATE.match(text.strip())
    if not match:
        return None
    try:
        return _span_of(*match.groups())
    except (ValueError, OverflowError):  # the 13th month, the 45th day, hour 25, year 10000
        return None


def _span_of(
    year: str, month: str | None, day: str | None, hour: str | None, minute: str | None,
    second: str | None, _fraction: str | None, zone: str | None,
) -> tuple[str, str]:  # fmt: skip
    y = int(year)
    if month is None:
        return f"{y:04d}-01-01T00:00:00", f"{y:04d}-12-31T23:59:59"
    m = int(month)
    last = calendar.monthrange(y, m)[1]
    if day is None:
        return f"{y:04d}-{m:02d}-01T00:00:00", f"{y:04d}-{m:02d}-{last:02d}T23:59:59"
    d = int(day)
    start = datetime(y, m, d)  # raises for a day the month does not have
    if hour is None:
        return f"{start:%Y-%m-%d}T00:00:00", f"{start:%Y-%m-%d}T23:59:59"
    seconds = "59" if second == "60" else second or "00"
    moment = datetime.fromisoformat(
        f"{y:04d}-{m:02d}-{d:02d}T{hour}:{minute}:{seconds}"
        + ("+00:00" if zone in (None, "Z") else zone)
    ).astimezone(UTC)
    low = moment.strftime("%Y-%m-%dT%H:%M:%S")
    high = low if second is not None else moment.strftime("%Y-%m-%dT%H:%M:59")
    return low, high
