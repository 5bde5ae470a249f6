"""An indicator evaluated: the FHIR ``MeasureReport`` (type summary, the period, the counts and
score overall and per stratum) and the same figures as CSV rows, one per indicator and
stratum, for the spreadsheet the alliance hands in."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from gateway.indicators.measures import COUNTED, POPULATION, measure_url
from gateway.indicators.model import STRATUM_KINDS, Figure, Indicator, Result
from gateway.indicators.reading import PRIORITIES
from gateway.indicators.recognition import REASON_STRATUM
from gateway.workflow.recognition_decisions import REPEAT_REASONS
from storage.fhir import instant
from storage.fhir import store as fhir_store
from storage.models import Centre, Organization

UCUM = "http://unitsofmeasure.org"
ISO_4217 = "urn:iso:std:iso:4217"  # money: a currency, not a UCUM unit
CSV_COLUMNS = ("indicator", "指标", "stratum", "分层", "numerator", "denominator", "count",
               "score", "unit")  # fmt: skip


def label(session: Session, stratum: str) -> str:
    """What a person calls a stratum: an organization's, a device's or a centre's name, a
    reason or a priority in words; a modality as its code."""
    kind, _, key = stratum.partition("/")
    if kind == "Organization":
        organization = session.get(Organization, key)
        return organization.name if organization is not None else key
    if kind == "Schedule":
        found = fhir_store.read(session, "Schedule", key)
        content = found.content if found is not None and found.content else {}
        return str(content.get("comment") or key)
    if kind == "HealthcareService":
        centre = session.get(Centre, key)
        return centre.name if centre is not None else key
    if kind == REASON_STRATUM:
        return REPEAT_REASONS.get(key, key)
    if kind == "Priority":
        return PRIORITIES.get(key, key)
    return key


def measure_report(
    session: Session,
    indicator: Indicator,
    result: Result,
    start: datetime,
    end: datetime,
    reporter: str,
) -> dict[str, Any]:
    group: dict[str, Any] = _counts(indicator, result.overall)
    stratifiers = []
    for name in indicator.stratifiers:
        kind = f"{STRATUM_KINDS[name]}/"
        strata = [
            {"value": {"coding": [{"code": key}], "text": label(session, key)},
             **_counts(indicator, figure)}
            for key, figure in result.strata.items()
            if key.startswith(kind)
        ]  # fmt: skip
        if strata:
            stratifiers.append({"code": [{"text": name}], "stratum": strata})
    if stratifiers:
        group["stratifier"] = stratifiers
    return {
        "resourceType": "MeasureReport",
        "status": "complete",
        "type": "summary",
        "measure": measure_url(indicator),
        "date": instant(datetime.now(UTC)),
        "reporter": {"reference": f"Organization/{reporter}"},
        "period": {"start": instant(start), "end": instant(end)},
        "group": [group],
    }


def _counts(indicator: Indicator, figure: Figure) -> dict[str, Any]:
    populations = [
        {"code": {"coding": [{"system": POPULATION, "code": code}]},
         "count": figure.populations.get(code, 0)}
        for code in COUNTED[indicator.scoring]
    ]  # fmt: skip
    counts: dict[str, Any] = {"population": populations}
    if figure.score is not None:
        system, unit = (ISO_4217, "元") if indicator.unit == "CNY" else (UCUM, indicator.unit)
        counts["measureScore"] = {
            "value": figure.score,
            "unit": unit,
            "system": system,
            "code": indicator.unit,
        }
    return counts


def csv_text(session: Session, evaluated: Iterable[tuple[Indicator, Result]]) -> str:
    """UTF-8 CSV with a byte-order mark (so that a spreadsheet opens the Chinese as Chinese);
    proportions as percentages (the MeasureReport has them as 0–1)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for indicator, result in evaluated:
        rows = [("", "合计 total", result.overall)]
        rows += [(key, label(session, key), figure) for key, figure in result.strata.items()]
        for key, name, figure in rows:
            writer.writerow([indicator.id, indicator.title, key, name,
                             *_row_counts(figure), *_score(indicator, figure)])  # fmt: skip
    return out.getvalue()


def _row_counts(figure: Figure) -> list[str]:
    numerator = figure.populations.get("numerator")
    denominator = figure.populations.get("denominator")
    count = figure.populations.get("initial-population", figure.populations.get(
        "measure-population"))  # fmt: skip
    return ["" if value is None else str(value) for value in (numerator, denominator, count)]


def _score(indicator: Indicator, figure: Figure) -> list[str]:
    if figure.score is None:
        return ["", indicator.unit]
    if indicator.scoring == "proportion":
        return [f"{figure.score * 100:.1f}", "%"]
    return [f"{figure.score:g}", indicator.unit]
