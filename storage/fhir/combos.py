"""Search parameters indexed as pairs: a token and a date of the same resource in one index
row, for the searches a HIS runs most that neither parameter narrows alone — "this lab code in
this week" (HAPI FHIR calls these combo search parameters).

``code=X&date=ge…&date=lt…`` means the resource has some code X and some date in the range,
so the pairs are every code of the resource with every date of it: searching the pairs finds
exactly what the two criteria find together.
"""

from __future__ import annotations

from typing import Any

# resource type -> (token parameter, date parameter) pairs
COMBOS: dict[str, tuple[tuple[str, str], ...]] = {
    "Observation": (("code", "date"),),
    "DiagnosticReport": (("code", "date"),),
}


def combo_param(token: str, date: str) -> str:
    return f"{token}+{date}"


def pairs(
    resource_type: str, tokens: list[dict[str, Any]], dates: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The pair rows of one resource from its token and date index rows."""
    rows = []
    for token, date in COMBOS.get(resource_type, ()):
        codes = [t for t in tokens if t["param"] == token and t["code"] is not None]
        for d in (d for d in dates if d["param"] == date):
            rows.extend(
                {
                    "resource_type": resource_type,
                    "resource_id": d["resource_id"],
                    "param": combo_param(token, date),
                    "system": t["system"],
                    "code": t["code"],
                    "low": d["low"],
                    "high": d["high"],
                    "wide": d["wide"],
                }
                for t in codes
            )
    return rows
