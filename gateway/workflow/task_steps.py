"""What a plain ``PUT`` of a workflow Task asks for (reading and referral Tasks alike): the state
its ``businessStatus`` names in the workflow's code system when that differs from the current
one, else the state its ``status`` means."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def wanted_state(
    resource: dict[str, Any], state: str, system: str, meant: Mapping[str, str]
) -> str:
    """The state ``resource`` asks for, ``state`` when it asks for none."""
    for coding in (resource.get("businessStatus") or {}).get("coding", []):
        if coding.get("system") == system and coding.get("code") != state:
            return str(coding.get("code"))
    return meant.get(str(resource.get("status")), state)
