"""A validation problem."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """What is wrong, and where (a FHIRPath-like expression: ``Patient.name[0].given``)."""

    expression: str
    message: str
