"""JSON in and out, fast: orjson, with the standard library behind it for what orjson refuses
(integers beyond 64 bits, nesting beyond 1024 levels), so both accept and produce the same
documents.  ``NaN`` and ``Infinity`` are not JSON and are refused on the way in."""

from __future__ import annotations

import json
from typing import Any

import orjson


def dumps(value: Any) -> str:
    """Compact JSON text, non-ASCII characters as they are (``ensure_ascii=False``)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def dump_bytes(value: Any) -> bytes:
    """:func:`dumps` as UTF-8 bytes (an HTTP body)."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def loads(text: str | bytes) -> Any:
    """Parse JSON text; ``ValueError`` when it is not JSON (or nests past what the parser's
    stack allows)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        try:
            return json.loads(text, parse_constant=_not_json)
        except RecursionError:
            raise ValueError("the JSON is nested too deeply") from None


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON value")
