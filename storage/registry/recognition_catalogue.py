"""The alliance's recognition catalogue in the alliance file (互认项目目录,
《医疗机构检查检验结果互认管理办法》): ``recognition_items`` — per item what it is (imaging:
modality and body site; lab: LOINC), its QC item group, how long a result stays recognisable,
the scope and mark it is recognised under (e.g. 浙HR) and the price a repeat would have cost —
and ``qualifications``: which member passed QC / external quality assessment (质控 / 室间质评)
for which item group, from when until when.

Checked with the rest of the file: the alliance and the organization exist, no two items of
an alliance match the same examination, and a qualification's group is one the catalogue uses."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

from pydantic import Field, model_validator

from storage.models.recognition import RecognitionKind, RecognitionScope
from storage.registry.entries import Code, _Entry, _enum

if TYPE_CHECKING:
    from storage.registry.alliance_file import AllianceFile

Modality = Annotated[str, Field(pattern=r"^[A-Z]{2,8}$")]
SiteCode = Annotated[str, Field(min_length=1, max_length=64)]


class RecognitionMatch(_Entry):
    """Which examinations are this item: an imaging or ECG order of this modality at one of
    these body sites (their codes, SNOMED CT or DICOM body part; none given: any site), or a
    lab result of this LOINC code."""

    modality: Modality | None = None
    body_sites: list[SiteCode] = Field(default_factory=list)
    loinc: str | None = Field(None, pattern=r"^\d{1,7}-\d$")


class RecognitionItemEntry(_Entry):
    code: Code
    alliance: Code
    name: str = Field(min_length=1, max_length=200, description="zh-CN, as the catalogue says")
    name_en: str | None = Field(None, max_length=200)
    kind: Annotated[RecognitionKind, _enum(RecognitionKind)]
    group: Code = Field(description="the QC item group a member qualifies for (质控项目组)")
    window_days: int = Field(gt=0, le=3650, description="recognisable for (days)")
    scope: Annotated[RecognitionScope, _enum(RecognitionScope)] = RecognitionScope.ALLIANCE
    mark: str = Field(pattern=r"^.{0,8}HR$", description="the mark, e.g. 浙HR (yl-hr-mark)")
    price: Decimal = Field(ge=0, max_digits=10, decimal_places=2, description="CNY saved")
    match: RecognitionMatch

    @model_validator(mode="after")
    def _match_fits_kind(self) -> RecognitionItemEntry:
        if self.kind is RecognitionKind.LAB:
            if self.match.loinc is None or self.match.modality is not None:
                raise ValueError("a lab item matches by its loinc (and no modality)")
        elif self.match.modality is None or self.match.loinc is not None:
            raise ValueError(f"an {self.kind.value} item matches by modality (and no loinc)")
        return self


class QualificationEntry(_Entry):
    organization: Code
    group: Code
    valid_from: date
    valid_until: date
    programme: str = Field(
        min_length=1, max_length=200, description="the QC / EQA that qualified it (质控/室间质评)"
    )

    @model_validator(mode="after")
    def _ordered(self) -> QualificationEntry:
        if self.valid_until < self.valid_from:
            raise ValueError("valid_until is before valid_from")
        return self


def _key(item: RecognitionItemEntry) -> tuple[str | None, str | None]:
    return (item.match.modality, item.match.loinc)


def recognition_problems(f: AllianceFile) -> list[str]:
    problems: list[str] = []
    alliances = {a.id for a in f.alliances}
    organizations = {o.id for o in f.organizations}
    seen: set[tuple[str, str]] = set()
    for i, item in enumerate(f.recognition_items):
        label = f"recognition_items[{i}] (code {item.code})"
        if (item.alliance, item.code) in seen:
            problems.append(f"{label}: field 'code': duplicate in alliance {item.alliance!r}")
        seen.add((item.alliance, item.code))
        if item.alliance not in alliances:
            problems.append(f"{label}: field 'alliance': unknown alliance {item.alliance!r}")
        for j, other in enumerate(f.recognition_items[:i]):
            sites = set(other.match.body_sites), set(item.match.body_sites)
            if (
                other.alliance == item.alliance
                and _key(other) == _key(item)
                and (not all(sites) or bool(sites[0] & sites[1]))
            ):
                problems.append(
                    f"{label}: field 'match': the same examination as recognition_items[{j}] "
                    f"(code {other.code}) would match"
                )
    groups = {item.group for item in f.recognition_items}
    for i, q in enumerate(f.qualifications):
        label = f"qualifications[{i}]"
        if q.organization not in organizations:
            problems.append(
                f"{label}: field 'organization': unknown organization {q.organization!r}"
            )
        if q.group not in groups:
            problems.append(f"{label}: field 'group': no recognition item is of group {q.group!r}")
    return problems
