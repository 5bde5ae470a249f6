"""What an indicator is: its definition (name, scoring, unit, what is counted) and how it is
evaluated for the organizations a requester sees over a period — one figure overall and one per
stratum (a member, a device, a direction)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

# FHIR measure-population codes, as a MeasureReport names its counts.
INITIAL = "initial-population"
NUMERATOR = "numerator"
DENOMINATOR = "denominator"
MEASURE_POPULATION = "measure-population"


@dataclass(frozen=True, slots=True)
class Scope:
    """Whose records (the organizations the requester sees) and when: ``[start, end)``."""

    orgs: set[str]
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class Figure:
    """One evaluated figure: its counts by population code and its score (a rate 0–1, a count,
    minutes); None when there is nothing to score (no denominator, no interval)."""

    populations: dict[str, int]
    score: float | None


@dataclass(frozen=True, slots=True)
class Result:
    overall: Figure
    strata: dict[str, Figure] = field(default_factory=dict)  # stratum label -> figure


Evaluate = Callable[[Session, Scope], Result]


@dataclass(frozen=True, slots=True)
class Indicator:
    """``scoring`` is FHIR's measure-scoring code (proportion, ratio, cohort,
    continuous-variable); ``unit`` a UCUM code (``1`` for proportions, scored 0–1; ``min``);
    ``definition`` says exactly what is counted, in both languages."""

    id: str
    title: str  # zh-CN, as the alliance reports it
    title_en: str
    scoring: str
    unit: str
    definition: str
    definition_en: str
    stratifier: str  # what the strata are: organization, device, direction
    improvement: str  # increase or decrease
    evaluate: Evaluate


def proportion(numerator: int, denominator: int) -> Figure:
    score = round(numerator / denominator, 4) if denominator else None
    return Figure({NUMERATOR: numerator, DENOMINATOR: denominator}, score)


def cohort(count: int) -> Figure:
    return Figure({INITIAL: count}, float(count))
