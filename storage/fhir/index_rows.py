"""The rows a resource is found by: one per search value, in the index table of its kind
(token, string, date, reference, quantity, uri; and the code+date pairs of ``combos``).  Plain
data, so that they can be made in another process than the one that writes them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, Protocol

from storage.fhir.combos import pairs
from storage.models import (
    FhirDateIndex,
    FhirQuantityIndex,
    FhirReferenceIndex,
    FhirStringIndex,
    FhirTokenDateIndex,
    FhirTokenIndex,
    FhirUriIndex,
)


class SearchValue(Protocol):
    """One value a resource is found by (computed by the caller from the SearchParameters)."""

    param: str
    kind: str
    system: str | None
    code: str | None
    text: str | None
    low: str | None
    high: str | None
    number: float | None


INDEX_TABLES = (
    FhirTokenIndex,
    FhirStringIndex,
    FhirDateIndex,
    FhirReferenceIndex,
    FhirQuantityIndex,
    FhirUriIndex,
    FhirTokenDateIndex,
)


IndexRows = dict[str, list[dict[str, Any]]]  # the index rows of one resource, by table name


_DAY = timedelta(days=1)


def _short(text: str | None) -> str | None:
    return text[:255] if text is not None else None


def index_rows(resource: dict[str, Any], values: Iterable[SearchValue]) -> IndexRows:
    """The index rows of ``resource`` (which has its ``id``) for the values it is found by:
    plain data, so that they can be made in another process than the one that writes them."""
    key_of = {"resource_type": resource["resourceType"], "resource_id": resource["id"]}
    rows: dict[type, list[dict[str, Any]]] = {table: [] for table in INDEX_TABLES}
    for v in values:
        key = {**key_of, "param": v.param}
        if v.kind == "token":
            rows[FhirTokenIndex].append(
                {**key, "system": _short(v.system), "code": _short(v.code), "text": _short(v.text)}
            )
        elif v.kind == "string" and v.text:
            rows[FhirStringIndex].append({**key, "value": _short(v.text)})
        elif v.kind == "date" and v.low and v.high:
            wide = datetime.fromisoformat(v.high) - datetime.fromisoformat(v.low) > _DAY
            rows[FhirDateIndex].append({**key, "low": v.low, "high": v.high, "wide": wide})
        elif v.kind == "reference" and v.code:
            rows[FhirReferenceIndex].append({**key, "target": _short(v.code)})
        elif v.kind in ("quantity", "number") and v.number is not None:
            rows[FhirQuantityIndex].append(
                {
                    **key,
                    "system": _short(v.system),
                    "code": (v.code or "")[:64] or None,
                    "value": v.number,
                }
            )
        elif v.kind == "uri" and v.code:
            rows[FhirUriIndex].append({**key, "value": _short(v.code)})
    rows[FhirTokenDateIndex] = pairs(
        resource["resourceType"], rows[FhirTokenIndex], rows[FhirDateIndex]
    )
    return {table.__tablename__: batch for table, batch in rows.items() if batch}
