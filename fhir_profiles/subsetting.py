"""``_summary`` and ``_elements``: a resource cut down to what was asked for, marked
SUBSETTED.  Which elements are summary elements (and which are mandatory) comes from the
element definitions the ``fhir.resources`` models carry."""

from __future__ import annotations

import importlib
from functools import cache
from typing import Any

SUBSETTED = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
    "code": "SUBSETTED",
}
ALWAYS = ("resourceType", "id", "meta")


@cache
def _flags(resource_type: str) -> tuple[frozenset[str], frozenset[str]]:
    """(summary elements, mandatory elements) as JSON names."""
    module = importlib.import_module(f"fhir.resources.R4B.{resource_type.lower()}")
    summary, mandatory = set(), set()
    for name, info in getattr(module, resource_type).model_fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        json_name = info.alias or name
        if extra.get("summary_element_property"):
            summary.add(json_name)
        if extra.get("element_required") or extra.get("one_of_many_required"):
            mandatory.add(json_name)
    return frozenset(summary), frozenset(mandatory)


def _keep(resource: dict[str, Any], names: set[str]) -> dict[str, Any]:
    kept = {
        key: value
        for key, value in resource.items()
        if key in ALWAYS or key in names or key.removeprefix("_") in names
    }
    meta = dict(kept.get("meta", {}))
    meta["tag"] = [*meta.get("tag", []), SUBSETTED]
    kept["meta"] = meta
    return kept


def subset(resource: dict[str, Any], summary: str | None, elements: list[str]) -> dict[str, Any]:
    """``summary``: true, text or data (None: not asked); ``elements``: top-level names."""
    if elements:
        return _keep(resource, set(elements))
    if summary is None:
        return resource
    if summary == "data":
        return _keep(resource, {k for k in resource if k != "text"})
    summary_names, mandatory = _flags(resource["resourceType"])
    if summary == "text":
        return _keep(resource, {"text", *mandatory})
    return _keep(resource, set(summary_names))
