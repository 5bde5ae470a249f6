"""FHIR search requests: query parameters -> criteria for ``storage.fhir.search``, and the
searchset Bundle.  Parameters are the type's official SearchParameters; repeated parameters
are AND, comma-separated values OR.  Unknown parameters are ignored with a warning in the
Bundle, or refused (400) under ``Prefer: handling=strict``."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.orm import Session

from fhir_profiles.search_values import date_range, reference_targets, search_parameter_codes
from fhir_profiles.subsetting import subset
from gateway.errors import BadRequest
from gateway.fhir.http import whole_number
from storage.fhir import Criterion, Has, Match, SortKey, read_many, references, referencing
from storage.policy import Viewer

DEFAULT_COUNT = 20
MAX_COUNT = 1000
CONTROL = {"_count", "_offset", "_total", "_summary", "_format", "_pretty", "_sort", "_elements"}
PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")
MODIFIERS = {
    "token": {None, "not", "text", "missing"},
    "string": {None, "exact", "contains", "missing"},
    "reference": {None, "mdm"},  # mdm: the Patients the patient index links to this one
}
_COMMA = re.compile(r"(?<!\\),")


@dataclass
class SearchRequest:
    criteria: list[Criterion | Has] = field(default_factory=list)
    last_updated: list[Match] = field(default_factory=list)
    count: int = DEFAULT_COUNT
    offset: int = 0
    # Counting every match costs as much as finding them all: the total is given when asked
    # for (``_total=accurate``), or when the first page holds every match.
    with_total: bool = False
    only_count: bool = False
    warnings: list[str] = field(default_factory=list)
    # (source type, reference parameter, target type or None, iterate)
    sort: list[SortKey] = field(default_factory=list)
    elements: list[str] = field(default_factory=list)
    summary: str | None = None  # true, text, data (count is only_count)
    includes: list[tuple[str, str, str | None, bool]] = field(default_factory=list)
    revincludes: list[tuple[str, str, str | None, bool]] = field(default_factory=list)


def parse(resource_type: str, params: list[tuple[str, str]], strict: bool) -> SearchRequest:
    kinds = search_parameter_codes(resource_type)
    request = SearchRequest()
    for name, raw in params:
        if name == "_sort":
            request.sort = [_sort_key(kinds, key.strip()) for key in raw.split(",") if key]
            continue
        if name in CONTROL:
            _control(request, name, raw)
            continue
        if name.split(":")[0] in ("_include", "_revinclude"):
            _include(request, name, raw)
            continue
        values = [v.replace("\\,", ",") for v in _COMMA.split(raw)]
        if name.startswith("_has:"):
            request.criteria.append(_has(resource_type, name, values))
            continue
        if "." in name:
            request.criteria.append(_chain(resource_type, name, values))
            continue
        code, _, modifier = name.partition(":")
        if code == "_lastUpdated":
            request.last_updated.extend(_date_match(name, v) for v in values)
            continue
        kind = kinds.get(code)
        if kind is None:
            problem = f"unknown search parameter {name!r} for {resource_type}"
            if strict:
                raise BadRequest(problem)
            request.warnings.append(f"{problem}: ignored")
            continue
        request.criteria.append(_criterion(code, kind, modifier or None, values, name))
    return request


def _control(request: SearchRequest, name: str, raw: str) -> None:
    if name in ("_count", "_offset"):
        number = whole_number(raw)
        if number is None:
            raise BadRequest(f"{name} must be a whole number up to 2147483647")
        if name == "_count":
            request.count = min(number, MAX_COUNT)
            request.only_count = request.only_count or request.count == 0  # just the total
        else:
            request.offset = number
    elif name == "_total":
        request.with_total = raw != "none"
    elif name == "_summary":
        if raw not in ("count", "true", "text", "data", "false"):
            raise BadRequest("_summary is one of true, text, data, count, false")
        request.only_count = raw == "count"
        request.summary = raw if raw in ("true", "text", "data") else None
    elif name == "_elements":
        request.elements = [e.strip() for e in raw.split(",") if e.strip()]


def _sort_key(kinds: dict[str, str], key: str) -> SortKey:
    descending = key.startswith("-")
    code = key.lstrip("-")
    if code in ("_id", "_lastUpdated"):
        return SortKey(code, "special", descending)
    if code not in kinds:
        raise BadRequest(f"cannot sort by {code!r}: not a search parameter of this type")
    return SortKey(code, kinds[code], descending)


def _chain(resource_type: str, name: str, values: list[str]) -> Criterion:
    """``subject:Patient.identifier=…`` (one level): the referenced resource matches."""
    reference, _, inner_name = name.partition(".")
    code, _, target = reference.partition(":")
    if search_parameter_codes(resource_type).get(code) != "reference":
        raise BadRequest(f"{name}: {code} is not a reference parameter of {resource_type}")
    if not target:
        targets = reference_targets(resource_type, code)
        if len(targets) != 1:
            raise BadRequest(f"{name}: say which type {code} points at ({code}:Type.…)")
        target = targets[0]
    inner = _inner(target, inner_name, values, name)
    return Criterion(code, "reference", chain=(target, inner))


def _has(resource_type: str, name: str, values: list[str]) -> Has:
    """``_has:Observation:patient:code=…`` (one level)."""
    parts = name.split(":")
    if len(parts) != 4:
        raise BadRequest(f"{name}: use _has:SourceType:parameter:criterion")
    _, source, param, inner_name = parts
    if search_parameter_codes(source).get(param) != "reference":
        raise BadRequest(f"{name}: {source}:{param} is not a reference parameter")
    return Has(source, param, _inner(source, inner_name, values, name))


def _inner(resource_type: str, inner_name: str, values: list[str], name: str) -> Criterion:
    code, _, modifier = inner_name.partition(":")
    kind = search_parameter_codes(resource_type).get(code)
    if kind is None or "." in inner_name:
        raise BadRequest(f"{name}: {inner_name} is not a search parameter of {resource_type}")
    return _criterion(code, kind, modifier or None, values, name)


def _include(request: SearchRequest, name: str, raw: str) -> None:
    """``_include=Observation:subject[:Patient]`` (``:iterate`` on the name: follow further)."""
    parts = raw.split(":")
    if len(parts) not in (2, 3):
        raise BadRequest(f"{name} takes SourceType:parameter[:TargetType]")
    source, param = parts[0], parts[1]
    if search_parameter_codes(source).get(param) != "reference":
        raise BadRequest(f"{name}: {source}:{param} is not a reference search parameter")
    spec = (source, param, parts[2] if len(parts) == 3 else None, name.endswith(":iterate"))
    (request.includes if name.startswith("_include") else request.revincludes).append(spec)


def included(
    session: Session, request: SearchRequest, matches: list[Any], viewer: Viewer, readable: Any
) -> list[Any]:
    """Resources ``_include``/``_revinclude`` add to the page (``:iterate`` up to 3 levels),
    of the types the requester may read, each once and never one of the matches."""
    seen = {(r.resource_type, r.id) for r in matches}
    added: list[Any] = []
    frontier = matches
    for level in range(3):
        found: list[Any] = []
        for source, param, target, iterate in request.includes:
            if level and not iterate:
                continue
            ids = [r.id for r in frontier if r.resource_type == source]
            targets = references(session, source, ids, param)
            targets = [t for t in targets if target is None or t.startswith(f"{target}/")]
            found += read_many(session, targets, viewer)
        for source, param, _target, iterate in request.revincludes:
            if level and not iterate:
                continue
            targets = [f"{r.resource_type}/{r.id}" for r in frontier]
            found += referencing(session, source, param, targets, viewer)
        fresh = []
        for resource in found:
            key = (resource.resource_type, resource.id)
            if key not in seen and readable(resource.resource_type):
                seen.add(key)
                fresh.append(resource)
        if not fresh:
            break
        added += fresh
        frontier = fresh
    return added


def _criterion(
    code: str, kind: str, modifier: str | None, values: list[str], name: str
) -> Criterion:
    if modifier == "missing":
        if values not in (["true"], ["false"]):
            raise BadRequest(f"{name} takes true or false")
        return Criterion(code, kind, "missing", [Match(values[0])])
    if kind == "reference" and modifier and modifier[0].isupper():  # subject:Patient=123
        return Criterion(code, kind, None, [Match(f"{modifier}/{v}") for v in values])
    if modifier not in MODIFIERS.get(kind, {None}):
        raise BadRequest(f"modifier :{modifier} is not supported on {kind} parameter {code}")
    if modifier == "mdm" and any("/" in v and not v.startswith("Patient/") for v in values):
        raise BadRequest(f"{name} expands a Patient: {name}=Patient/{{id}}")
    if kind == "date":
        return Criterion(code, kind, modifier, [_date_match(name, v) for v in values])
    if kind in ("quantity", "number"):
        return Criterion(code, kind, modifier, [_number_match(name, v) for v in values])
    return Criterion(code, kind, modifier, [Match(v) for v in values])


def _prefixed(value: str) -> tuple[str, str]:
    if value[:2] in PREFIXES and len(value) > 2 and not value[2].isalpha():
        return value[:2], value[2:]
    return "eq", value


def _date_match(name: str, value: str) -> Match:
    prefix, text = _prefixed(value)
    span = date_range(text)
    if span is None:
        raise BadRequest(f"{name}: {value!r} is not a FHIR date")
    return Match(text, prefix, low=span[0], high=span[1])


def _number_match(name: str, value: str) -> Match:
    prefix, text = _prefixed(value)
    try:
        number = float(text.split("|", 1)[0])
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise BadRequest(f"{name}: {value!r} is not a number")
    return Match(text, prefix, number=number)


def searchset(
    base: str,
    resource_type: str,
    params: list[tuple[str, str]],
    request: SearchRequest,
    found: list[Any],
    total: int | None,
    extra: Sequence[Any] = (),
) -> dict[str, Any]:
    """The Bundle: matches, total, self and next links, and an outcome entry for warnings."""
    kept = [(k, v) for k, v in params if k != "_offset"]
    self_link = f"{base}/{resource_type}?{urlencode([*kept, ('_offset', str(request.offset))])}"
    links = [{"relation": "self", "url": self_link}]
    more = total > request.offset + len(found) if total is not None else len(found) == request.count
    if found and more and not request.only_count:
        after = urlencode([*kept, ("_offset", str(request.offset + request.count))])
        links.append({"relation": "next", "url": f"{base}/{resource_type}?{after}"})
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset", "link": links}
    if total is not None:
        bundle["total"] = total
    entries = [
        {
            "fullUrl": f"{base}/{stored.resource_type}/{stored.id}",
            "resource": subset(stored.content, request.summary, request.elements),
            "search": {"mode": "match"},
        }
        for stored in ([] if request.only_count else found)
    ] + [
        {
            "fullUrl": f"{base}/{stored.resource_type}/{stored.id}",
            "resource": stored.content,
            "search": {"mode": "include"},
        }
        for stored in extra
    ]
    if request.warnings:
        entries.append(
            {
                "resource": {
                    "resourceType": "OperationOutcome",
                    "issue": [
                        {"severity": "warning", "code": "not-supported", "diagnostics": text}
                        for text in request.warnings
                    ],
                },
                "search": {"mode": "outcome"},
            }
        )
    if entries:
        bundle["entry"] = entries
    return bundle
