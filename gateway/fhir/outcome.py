"""Errors of the FHIR API as OperationOutcome, one mapping from HTTP status to issue code."""

from __future__ import annotations

from typing import Any

FHIR_JSON = "application/fhir+json; charset=utf-8"

_CODES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    409: "conflict",
    410: "deleted",
    412: "conflict",
    413: "too-costly",
    415: "not-supported",
    422: "processing",
}


def operation_outcome(
    status: int, message: str, problems: list[tuple[str, str]] | None = None
) -> dict[str, Any]:
    """One issue per ``(expression, message)`` problem, or one issue with ``message``."""
    code = _CODES.get(status, "exception" if status != 503 else "transient")
    severity = "error" if status < 500 else "fatal"
    if not problems:
        issues = [{"severity": severity, "code": code, "diagnostics": message}]
    else:
        issues = [
            {"severity": severity, "code": code, "diagnostics": text, "expression": [where]}
            for where, text in problems
        ]
    return {"resourceType": "OperationOutcome", "issue": issues}


def information(message: str) -> dict[str, Any]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "information", "code": "informational", "diagnostics": message}],
    }
