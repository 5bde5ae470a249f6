"""Reading values from data sets as careless or broken senders make them.

pydicom reads a data set's structure eagerly and converts each value only when it is asked for,
so a value that does not parse (an IS of ``"1x"``, a US three bytes long, text where a number
belongs) raises at that moment, far from where the file was read.  Every read of a value that
may be broken goes through here: :func:`value_of` and :func:`int_of` answer None for a value
that cannot be decoded, and :func:`uid_problem` says why a text cannot be a UID.

UIDs (PS3.5 9.1) are checked for what breaks identity, not for every rule of the standard:
longer than 64 characters (every index and peer would have to cut it, and two instances would
become one), characters other than digits and dots, or an empty component.  Components with
leading zeros (``1.2.840.0113``) are not conformant either, but many modalities send them and
they still identify one object each, so they are accepted: refusing them would lose real studies.
"""

from __future__ import annotations

import re
import struct
import zlib
from typing import Any

from pydicom.dataset import Dataset
from pydicom.errors import BytesLengthException

MAX_UID_LENGTH = 64

# What pydicom (and the numbers it hands on) raise for a value that cannot be decoded.
DECODE_ERRORS: tuple[type[Exception], ...] = (
    ValueError,  # includes UnicodeDecodeError
    TypeError,
    ArithmeticError,  # OverflowError
    LookupError,  # KeyError, IndexError
    AttributeError,
    NotImplementedError,
    EOFError,
    OSError,  # pydicom's answer to a sequence item it cannot find in the bytes
    struct.error,
    zlib.error,  # "deflated" data that is not
    BytesLengthException,
)

_UID = re.compile(r"[0-9]+(?:\.[0-9]+)*")
_UID_CHARACTERS = re.compile(r"[0-9.]*")


def value_of(ds: Dataset, keyword: str) -> Any:
    """The element's value, or None when it is absent or cannot be decoded."""
    try:
        return ds.get(keyword)
    except DECODE_ERRORS:
        return None


def int_of(ds: Dataset, keyword: str, default: int | None = None) -> int | None:
    """The first value of an integer-like element, or ``default``."""
    value = value_of(ds, keyword)
    if isinstance(value, list | tuple) or type(value).__name__ == "MultiValue":
        value = value[0] if len(value) else None
    try:
        return int(value) if value not in (None, "") else default
    except DECODE_ERRORS:
        return default


def uid_problem(value: object) -> str | None:
    """Why ``value`` cannot identify anything (a phrase to follow the attribute's name), or
    None when it is a usable UID.  Padding (trailing NULs and spaces) is not part of it."""
    if value is None:
        return "is empty"
    if type(value).__name__ == "MultiValue" or isinstance(value, list | tuple):
        return f"has {len(value)} values (a UID has one)"  # type: ignore[arg-type]
    if not isinstance(value, str):
        return "is not encoded as a UID"
    text = value.strip(" \x00")
    if not text:
        return "is empty"
    if len(text) > MAX_UID_LENGTH:
        return f"has {len(text)} characters (at most {MAX_UID_LENGTH})"
    if not _UID_CHARACTERS.fullmatch(text):
        return "has characters other than 0-9 and '.'"
    if not _UID.fullmatch(text):
        return "has an empty component"
    return None
