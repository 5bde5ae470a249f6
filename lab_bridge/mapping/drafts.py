"""What a message maps to, before it meets the database: FHIR resources without ids, each
with the identifier it is kept under (so a re-sent or corrected result updates the same
resource) and references between them as ``draft:KEY``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Draft:
    key: str  # unique in the message: "patient:1", "report:1", "result:1:3"
    resource: dict[str, Any]
    identifier: tuple[str, str]  # (system, value): the resource this one is, if it exists
    where: str  # the segment it comes from (ERR location when it is not valid)
    # Patients: identifiers under which the alliance may already know them (any member's).
    known_as: list[tuple[str, str]] = field(default_factory=list)
    # Results and reports: the placer order number (电子申请单号) of the order they answer.
    order_number: str | None = None
    critical: bool = False  # an HH/LL/AA result (危急值)
    # Patients from ADT: the sender's own record, created or updated (not only referred to);
    # with ``replaces``, the records it replaces (A40 merge).
    own_record: bool = False
    replaces: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Mapped:
    drafts: list[Draft] = field(default_factory=list)
    unmapped_codes: list[str] = field(default_factory=list)


def ref(key: str) -> dict[str, str]:
    return {"reference": f"draft:{key}"}
