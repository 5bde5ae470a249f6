"""The references a resource makes, where it makes them, and whether each is well formed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

# A relative literal reference: Type/id, optionally /_history/version (FHIR R4 3.1.3.6).
_RELATIVE = re.compile(
    r"^([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(?:/_history/[A-Za-z0-9\-.]{1,64})?$"
)


def references(resource: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """``(expression, reference)`` for every ``Reference.reference`` in the resource, outside
    contained resources (``Observation.subject``, ``DiagnosticReport.result[2]``)."""
    yield from _walk(resource, resource.get("resourceType", ""))


def _walk(node: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "contained":
                continue
            if key == "reference" and isinstance(value, str):
                yield path, value
            else:
                yield from _walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _walk(item, f"{path}[{index}]")


def relative_target(reference: str) -> str | None:
    """``Type/id`` of a relative reference (version dropped); None for an internal (``#id``),
    absolute or ``urn:`` reference, which the server does not resolve.  ValueError when it is
    neither."""
    if reference.startswith("#") or ":" in reference:
        return None
    match = _RELATIVE.match(reference)
    if match is None:
        raise ValueError(f"{reference!r} is not a reference (Type/id)")
    return f"{match[1]}/{match[2]}"
