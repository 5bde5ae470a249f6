"""The values of the alliance file checked as the registry needs them: organization codes, the
unified social credit code (GB 32100-2015, with its check character) and DICOM AE titles."""

from __future__ import annotations

import re

# GB 32100-2015 unified social credit code: 18 characters with a check character.
_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_CODE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_AE_TITLE = re.compile(r"^[\x21-\x5b\x5d-\x7e][\x20-\x5b\x5d-\x7e]{0,15}$")


def uscc_check_char(first17: str) -> str:
    total = sum(_USCC_CHARS.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_CHARS[(31 - total % 31) % 31]


def national_id_value(value: str) -> str:
    value = str(value).strip().upper()
    if len(value) != 18 or any(c not in _USCC_CHARS for c in value):
        raise ValueError("must be an 18-character unified social credit code (统一社会信用代码)")
    if uscc_check_char(value[:17]) != value[17]:
        raise ValueError("check character of the unified social credit code is wrong")
    return value


def code_value(value: str) -> str:
    if not isinstance(value, str) or not _CODE.match(value):
        raise ValueError(
            "must be 1-64 characters of a-z, 0-9 and '-', starting with a letter/digit"
        )
    return value


def ae_title_value(value: str) -> str:
    if not isinstance(value, str) or not _AE_TITLE.match(value) or value != value.strip():
        raise ValueError("must be 1-16 printable ASCII characters without backslash or edge spaces")
    return value
