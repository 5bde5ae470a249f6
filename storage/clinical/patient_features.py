"""What the patient index compares of a FHIR ``Patient``, and the blocking keys that find its
candidates.

- the name as written (Hanzi, spaces removed) and every pinyin reading of it: pypinyin with
  ``heteronym=True``, so 单 reads dan, chan and shan and 曾 zeng and ceng — a clerk who typed
  善丽 for 单丽 still meets her (capped at :data:`MAX_READINGS`);
- birth date and sex, from the 身份证号 when the record lacks them;
- the phone (digits, the last 11: +86 and spaces dropped), the address as text;
- the 身份证号 (18 characters, 15-digit ones upgraded; an invalid one is not used) and the
  居民健康卡号 (:mod:`storage.identity_numbers`).

Keys (``storage.models.MpiKey``): ``id:`` and ``hc:`` for the deterministic links, ``t:`` the
phone and ``n:`` each reading with the birth year, for the candidates of the probabilistic
score.  No key of the birth date alone: a record that shares neither a phone nor a reading of
the name cannot reach a possible match with the score's weights (birth date, sex and address
together stay below it), so scoring it would only cost time.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, field
from typing import Any

from pypinyin import Style, pinyin

from storage.identity_numbers import (
    HEALTH_CARD,
    ID_CARD,
    health_card,
    id_card_18,
    id_card_birth_date,
    id_card_sex,
)

MAX_READINGS = 8


@dataclass(frozen=True)
class Features:
    name: str | None = None
    readings: tuple[str, ...] = field(default=())
    birth: str | None = None  # YYYY-MM-DD
    sex: str | None = None
    phone: str | None = None
    address: str | None = None
    id_card: str | None = None
    health_card: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "readings": list(self.readings)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Features:
        return cls(**{**data, "readings": tuple(data.get("readings") or ())})

    def blocking_keys(self) -> set[str]:
        keys = {f"id:{self.id_card}"} if self.id_card else set()
        if self.health_card:
            keys.add(f"hc:{self.health_card}")
        if self.phone:
            keys.add(f"t:{self.phone}")
        year = (self.birth or "")[:4]
        keys.update(f"n:{reading}|{year}" for reading in self.readings)
        return {key[:160] for key in keys}


def features(patient: dict[str, Any]) -> Features:
    """The compared values of a ``Patient`` resource."""
    identifiers = {
        str(i.get("system")): str(i.get("value"))
        for i in patient.get("identifier") or []
        if i.get("system") in (ID_CARD, HEALTH_CARD) and i.get("value")
    }
    id_card = id_card_18(identifiers.get(ID_CARD, ""))
    born = id_card_birth_date(id_card) if id_card else None
    name = _name(patient)
    return Features(
        name=name,
        readings=readings(name) if name else (),
        birth=str(patient.get("birthDate") or "")[:10] or (born.isoformat() if born else None),
        sex=patient.get("gender") or (id_card_sex(id_card) if id_card else None),
        phone=_phone(patient),
        address=_address(patient),
        id_card=id_card,
        health_card=health_card(identifiers.get(HEALTH_CARD, "")),
    )


def readings(name: str) -> tuple[str, ...]:
    """Every pinyin reading of a name, toneless, syllables joined by spaces (a name already in
    Latin letters is one reading of itself, lower case)."""
    syllables = pinyin(name, style=Style.NORMAL, heteronym=True, errors="default")
    combos = itertools.islice(itertools.product(*syllables), MAX_READINGS)
    return tuple(dict.fromkeys(" ".join(combo).lower() for combo in combos))


def _name(patient: dict[str, Any]) -> str | None:
    names = patient.get("name") or []
    chosen = next((n for n in names if n.get("use") == "official"), names[0] if names else None)
    if not chosen:
        return None
    text = chosen.get("text") or (chosen.get("family") or "") + "".join(chosen.get("given") or [])
    compact = "".join(text.split()) if _is_hanzi(text) else " ".join(text.lower().split())
    return compact or None


def _is_hanzi(text: str) -> bool:
    return any("\u3400" <= char <= "\u9fff" for char in text)


def _phone(patient: dict[str, Any]) -> str | None:
    for telecom in patient.get("telecom") or []:
        if telecom.get("system") in (None, "phone", "sms"):
            digits = "".join(char for char in str(telecom.get("value", "")) if char.isdigit())
            if len(digits) >= 7:
                return digits[-11:]
    return None


def _address(patient: dict[str, Any]) -> str | None:
    for address in patient.get("address") or []:
        parts = [address.get(k) for k in ("state", "city", "district")] + address.get("line", [])
        text = address.get("text") or "".join(str(p) for p in parts if p)
        if text.strip():
            return "".join(text.split())
    return None
