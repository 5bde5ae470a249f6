"""The national identifiers of a person and what makes one usable (WS/T 500 OIDs under
2.16.156.10011.1).

- 居民身份证号 (``ID_CARD``): GB 11643-1999, 18 characters — a 6-digit address code, the birth
  date ``YYYYMMDD``, a 3-digit sequence (odd for men) and a check character (ISO 7064
  MOD 11-2, ``0``–``9`` or ``X``).  The first-generation cards (before 1999) have 15 digits:
  a 2-digit year and no check character; :func:`id_card_18` upgrades one by inserting ``19``
  and computing the check character, as the public-security bureaus do.
- 居民健康卡号 (``HEALTH_CARD``): the national resident health card (and its electronic card)
  number, ``2.16.156.10011.1.19`` in the shared documents' headers (WS/T 500) and the
  interoperability assessment's patient registry messages.  It has no public check rule:
  it is compared whole, spaces removed.

The check rule is python-stdnum's ``stdnum.cn.ric`` (its birth-place table is not used: an
address code missing from it does not make a number false).
"""

from __future__ import annotations

import datetime

from stdnum.cn import ric
from stdnum.exceptions import ValidationError

ID_CARD = "urn:oid:2.16.156.10011.1.3"  # 居民身份证号
HEALTH_CARD = "urn:oid:2.16.156.10011.1.19"  # 居民健康卡号
APPLICATION_NUMBER = "urn:oid:2.16.156.10011.1.24"  # 电子申请单号


def id_card_18(number: str) -> str | None:
    """The 18-character 身份证号 of ``number`` (15-digit ones upgraded), or None when it is not
    one: wrong length or characters, an impossible birth date, a wrong check character."""
    compact = ric.compact("".join((number or "").split()))
    if len(compact) == 15 and compact.isdigit():
        body = compact[:6] + "19" + compact[6:] + "?"  # stdnum computes over the 17 before it
        compact = body[:17] + ric.calc_check_digit(body)
    if len(compact) != 18 or not compact[:17].isdigit():
        return None
    try:
        ric.get_birth_date(compact)
    except ValidationError:
        return None
    return compact if ric.calc_check_digit(compact) == compact[17] else None


def id_card_birth_date(number: str) -> datetime.date | None:
    """The birth date a valid 身份证号 carries (digits 7–14)."""
    valid = id_card_18(number)
    return ric.get_birth_date(valid) if valid else None


def id_card_sex(number: str) -> str | None:
    """``male`` or ``female`` (the 17th digit odd or even) of a valid 身份证号."""
    valid = id_card_18(number)
    if valid is None:
        return None
    return "male" if int(valid[16]) % 2 else "female"


def health_card(number: str) -> str | None:
    """The 居民健康卡号 as compared: spaces removed, upper case; None when empty."""
    compact = "".join((number or "").split()).upper()
    return compact or None
