"""The alliance's remote-service catalogue in the alliance file (``services``: 五个统一 — one
fee standard, one service specification): per service its code, names, kind, the centre and
roles that perform it, its turnaround, its fee (CNY, exact) and what it is charged per, and how
a completed piece of work is recognised as it (``match``).

Checked with the rest of the file: the centre exists, belongs to the alliance and is of the
service's kind, and no two services of a centre match the same work — a completed reading is
charged as exactly one service; a lab service's codes are lab items of the centre's hospital."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

from pydantic import Field, model_validator

from storage.models.charges import FeeBasis, ServiceKind
from storage.models.registry import Role
from storage.registry.entries import Code, _Entry, _enum

if TYPE_CHECKING:
    from storage.registry.alliance_file import AllianceFile

# A service performed by a centre is of the centre's kind (a consultation by any centre).
CENTRE_KIND = {
    ServiceKind.IMAGING: "imaging",
    ServiceKind.ECG: "ecg",
    ServiceKind.PATHOLOGY: "pathology",
    ServiceKind.LAB: "lab",
}


class ServiceMatch(_Entry):
    """What work is this service: readings of these modalities (none given: any of the
    centre's), lab results of these item codes (the lab's local codes), or orders of these
    codes."""

    modalities: list[Annotated[str, Field(pattern=r"^[A-Z]{2,8}$")]] = Field(default_factory=list)
    lab_codes: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        default_factory=list
    )
    order_codes: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        default_factory=list
    )


class ServiceEntry(_Entry):
    code: Code
    alliance: Code
    name: str = Field(min_length=1, max_length=200, description="zh-CN, as on the statement")
    name_en: str | None = Field(None, max_length=200)
    kind: Annotated[ServiceKind, _enum(ServiceKind)]
    centre: Code = Field(description="the shared centre that performs it")
    performer_roles: list[Annotated[Role, _enum(Role)]] = Field(
        default_factory=lambda: [Role.READER, Role.SENIOR_READER]
    )
    turnaround_hours: int = Field(gt=0, le=24 * 30, description="report within (hours)")
    fee: Decimal = Field(ge=0, max_digits=10, decimal_places=2, description="CNY")
    basis: Annotated[FeeBasis, _enum(FeeBasis)] = FeeBasis.EXAM
    match: ServiceMatch = Field(default_factory=ServiceMatch)

    @model_validator(mode="after")
    def _match_fits_kind(self) -> ServiceEntry:
        if self.kind is ServiceKind.LAB and not self.match.lab_codes:
            raise ValueError("a commissioned lab service names its lab_codes in match")
        if self.kind is not ServiceKind.LAB and self.match.lab_codes:
            raise ValueError("only a lab service matches lab_codes")
        return self


def _overlap(a: list[str], b: list[str]) -> bool:
    """Whether two match lists can both match one piece of work (empty: any)."""
    return not a or not b or bool(set(a) & set(b))


def catalogue_problems(f: AllianceFile) -> list[str]:
    problems: list[str] = []
    seen: set[tuple[str, str]] = set()
    centres = {c.id: c for c in f.centres}
    alliances = {a.id for a in f.alliances}
    for i, s in enumerate(f.services):
        label = f"services[{i}] (code {s.code})"
        if (s.alliance, s.code) in seen:
            problems.append(f"{label}: field 'code': duplicate in alliance {s.alliance!r}")
        seen.add((s.alliance, s.code))
        if s.alliance not in alliances:
            problems.append(f"{label}: field 'alliance': unknown alliance {s.alliance!r}")
        centre = centres.get(s.centre)
        if centre is None:
            problems.append(f"{label}: field 'centre': unknown centre {s.centre!r}")
            continue
        if centre.alliance != s.alliance:
            problems.append(
                f"{label}: field 'centre': {s.centre!r} is a centre of {centre.alliance!r}"
            )
        wanted = CENTRE_KIND.get(s.kind)
        if wanted is not None and centre.kind.value != wanted:
            problems.append(
                f"{label}: field 'centre': a {s.kind.value} service is performed by a "
                f"{wanted} centre, {s.centre!r} is {centre.kind.value}"
            )
        items = {i.code for i in f.lab_items if i.organization == centre.organization}
        for code in s.match.lab_codes:
            if code not in items:
                problems.append(
                    f"{label}: field 'match.lab_codes': {code!r} is not a lab item of "
                    f"{centre.organization!r}"
                )
        for j, other in enumerate(f.services[:i]):
            if (other.centre, other.kind) == (s.centre, s.kind) and all(
                _overlap(getattr(other.match, k), getattr(s.match, k))
                for k in ("modalities", "lab_codes", "order_codes")
            ):
                problems.append(
                    f"{label}: field 'match': the same work as services[{j}] "
                    f"(code {other.code}) would match"
                )
    return problems
