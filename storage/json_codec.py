"""JSON in and out, fast: orjson, with the standard library behind it for what orjson refuses
(integers beyond 64 bits, nesting beyond 1024 levels), so both accept and produce the same
documents.  ``NaN`` and ``Infinity`` are not JSON and are refused on the way in."""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

_LONG_BYTES = re.compile(rb"[0-9]{19}")
_LONG_TEXT = re.compile(r"[0-9]{19}")


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
    stack allows).  A document with a run of 19 or more digits goes to the standard library
    parser, which keeps whole numbers beyond 64 bits exact (orjson turns them into doubles)."""
    long_digits = _LONG_BYTES if isinstance(text, bytes) else _LONG_TEXT
    if long_digits.search(text) is not None:  # type: ignore[arg-type]
        return _exact(text)
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return _exact(text)


def _exact(text: str | bytes) -> Any:
    try:
        return json.loads(text, parse_constant=_not_json)
    except RecursionError:
        raise ValueError("the JSON is nested too deeply") from None


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON value")
