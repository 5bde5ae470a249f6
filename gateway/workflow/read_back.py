"""Whether a read-back (复述) repeats the critical value it acknowledges.

Whoever receives a critical value on the telephone or on screen says it back, and the one who
raised it checks that what was heard is what was meant.  Here the server checks it: a lab
value's read-back names the item (its name or code) and states the value (6.8 is 6.80, not
68); a finding's read-back repeats the finding — every number in it, and nearly all of its
words (:data:`FINDING_COVERAGE`), whatever is added ("，已收到").  Spaces, punctuation and
full-width forms are ignored.  The centre that raised the alert, confirming the call itself
once the alert has come back to it, reports what it did instead (``applies`` is False).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from difflib import SequenceMatcher
from typing import Any

# The share of a finding's characters a read-back must repeat, in order.
FINDING_COVERAGE = 0.8
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


@dataclass(frozen=True, slots=True)
class Expected:
    """What a read-back must repeat: a lab value (``names`` of the item and the ``value``), or
    a finding's ``text``."""

    names: tuple[str, ...] = ()
    value: str = ""
    text: str = ""


class ReadBackMismatch(Exception):
    """The read-back does not repeat the critical value; the message says what is missing."""


NO_ITEM = "复述不符：未复述检验项目名称 (the read-back does not name the item)"
NO_VALUE = "复述不符：数值与危急值不一致 (the read-back does not state the value)"
NO_FINDING = "复述不符：未完整复述危急值内容 (the read-back does not repeat the finding)"


def _plain(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(c for c in folded if unicodedata.category(c)[0] in "LN" or c == ".")


def _numbers(text: str) -> set[Decimal]:
    found = set()
    for number in _NUMBER.findall(unicodedata.normalize("NFKC", text)):
        try:
            found.add(Decimal(number).normalize())
        except InvalidOperation:  # pragma: no cover - the pattern only matches numbers
            continue
    return found


def expected_of_result(result: dict[str, Any]) -> Expected:
    """What the read-back of a lab result (an Observation) must repeat."""
    code = result.get("code") or {}
    names = [code.get("text", "")] + [
        text for coding in code.get("coding", [])
        for text in (coding.get("display"), coding.get("code"))
    ]  # fmt: skip
    quantity = result.get("valueQuantity") or {}
    value = str(quantity["value"]) if "value" in quantity else str(result.get("valueString", ""))
    return Expected(names=tuple(n for n in names if n), value=value)


def check(expected: Expected, read_back: str) -> None:
    """Raise :class:`ReadBackMismatch` unless ``read_back`` repeats ``expected``."""
    heard = _plain(read_back)
    if expected.names or expected.value:
        if expected.names and not any(_plain(name) in heard for name in expected.names):
            raise ReadBackMismatch(NO_ITEM)
        if not _value_heard(expected.value, read_back):
            raise ReadBackMismatch(NO_VALUE)
        return
    said = _plain(expected.text)
    if not _numbers(expected.text) <= _numbers(read_back):
        raise ReadBackMismatch(NO_VALUE)
    matcher = SequenceMatcher(None, said, heard, autojunk=False)
    repeated = sum(block.size for block in matcher.get_matching_blocks())
    if said and repeated / len(said) < FINDING_COVERAGE:
        raise ReadBackMismatch(NO_FINDING)


def _value_heard(value: str, read_back: str) -> bool:
    if not value:
        return True
    numbers = _numbers(value)
    if numbers and _NUMBER.fullmatch(unicodedata.normalize("NFKC", value).strip()):
        return bool(numbers & _numbers(read_back))
    return _plain(value) in _plain(read_back)
