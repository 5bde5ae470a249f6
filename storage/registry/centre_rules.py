"""A centre's rules in the alliance file: due times (报告时限), report templates (报告模板) and
the exam slots it publishes for booking (号源); the alliance's working-day calendar."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import Field, model_validator

from storage.registry.entries import _Entry


class DueRule(_Entry):
    """How long the orders this rule matches have to the signed report: ``minutes``, or
    ``working_days`` (to the end of that working day after the day the work arrived, by the
    alliance's calendar: pathology's 3–5 个工作日).  ``exams`` matches the order's code (any
    coding's code: a local code, or ``pathology-exam`` frozen / biopsy / resection /
    cytology)."""

    priority: list[Literal["routine", "urgent", "asap", "stat"]] | None = None
    modalities: list[Annotated[str, Field(pattern=r"^[A-Z]{2,8}$")]] | None = None
    setting: list[Literal["emergency", "outpatient", "inpatient"]] | None = None
    exams: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = None
    minutes: int | None = Field(None, gt=0, le=60 * 24 * 30)
    working_days: int | None = Field(None, gt=0, le=30)

    @model_validator(mode="after")
    def _one_length(self) -> DueRule:
        if (self.minutes is None) == (self.working_days is None):
            raise ValueError("give minutes or working_days (one of them)")
        return self


class WorkingCalendar(_Entry):
    """Besides Monday to Friday: the days off (``holidays``: 法定节假日, weekdays among them)
    and the weekend days worked (``workdays``: 调休上班), as the State Council publishes
    them each year."""

    holidays: list[date] = Field(default_factory=list)
    workdays: list[date] = Field(default_factory=list)

    @model_validator(mode="after")
    def _not_both(self) -> WorkingCalendar:
        both = sorted(set(self.holidays) & set(self.workdays))
        if both:
            raise ValueError(f"a day is both a holiday and a workday: {both[0].isoformat()}")
        return self

    def stored(self) -> dict[str, list[str]]:
        return {"holidays": sorted(d.isoformat() for d in self.holidays),
                "workdays": sorted(d.isoformat() for d in self.workdays)}  # fmt: skip


class ReportTemplate(_Entry):
    """A report template of a centre (报告模板): for a modality and body part, or for any."""

    name: str = Field(min_length=1, max_length=100)
    modality: str | None = Field(None, pattern=r"^[A-Z]{2,8}$")
    body_part: str | None = Field(None, max_length=64, description="DICOM BodyPartExamined")
    findings: str = Field("", max_length=4000)
    impression: str = Field("", max_length=2000)


_CLOCK = r"([01][0-9]|2[0-3]):[0-5][0-9]"
_HOURS = rf"^{_CLOCK}-{_CLOCK}$"


class BookingRule(_Entry):
    """Exam slots a centre offers for booking (号源) on one device or service: on ``weekdays``
    (1 Monday … 7 Sunday), in opening ``hours`` (local time), ``slot_minutes`` each, for
    ``days_ahead`` days; ``members_share`` of them reserved for members' patients
    (医联体预留号源), spread over the day."""

    modality: str = Field(pattern=r"^[A-Z]{2,8}$", description="DICOM modality, e.g. CT, MR, US")
    name: str = Field(min_length=1, max_length=100, description="the device or service")
    weekdays: list[Annotated[int, Field(ge=1, le=7)]] = Field(default=[1, 2, 3, 4, 5])
    hours: list[Annotated[str, Field(pattern=_HOURS)]] = Field(
        min_length=1, description="08:00-12:00"
    )
    slot_minutes: int = Field(gt=0, le=240)
    members_share: float = Field(ge=0, le=1)
    days_ahead: int = Field(14, ge=1, le=90)
