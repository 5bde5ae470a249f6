"""The alliance's indicators, and each as the FHIR ``Measure`` that defines it, kept in the
FHIR store like the server's terminology (``GET /fhir/Measure``, read by every member)."""

from __future__ import annotations

from typing import Any

from fhir_profiles.profiles import CANONICAL
from gateway.fhir.publishing import publish
from gateway.indicators import (
    booking,
    chest_pain,
    critical,
    examinations,
    lab,
    reading,
    recognition,
    referrals,
)
from gateway.indicators.model import (
    DENOMINATOR,
    INITIAL,
    MEASURE_POPULATION,
    NUMERATOR,
    Indicator,
)
from storage.platform import Platform

INDICATORS: tuple[Indicator, ...] = (
    *reading.INDICATORS,
    *chest_pain.INDICATORS,
    *examinations.INDICATORS,
    *lab.INDICATORS,
    *critical.INDICATORS,
    *referrals.INDICATORS,
    *booking.INDICATORS,
    *recognition.INDICATORS,
)
POPULATION = "http://terminology.hl7.org/CodeSystem/measure-population"
SCORING = "http://terminology.hl7.org/CodeSystem/measure-scoring"
IMPROVEMENT = "http://terminology.hl7.org/CodeSystem/measure-improvement-notation"
# The populations each scoring counts.
COUNTED = {
    "proportion": (NUMERATOR, DENOMINATOR),
    "ratio": (NUMERATOR, DENOMINATOR),
    "cohort": (INITIAL,),
    "continuous-variable": (MEASURE_POPULATION,),
}


def by_id() -> dict[str, Indicator]:
    return {indicator.id: indicator for indicator in INDICATORS}


def measure_url(indicator: Indicator) -> str:
    return f"{CANONICAL}/Measure/{indicator.id}"


def measure(indicator: Indicator) -> dict[str, Any]:
    """The indicator as an R4 ``Measure``."""
    populations = [
        {
            "code": {"coding": [{"system": POPULATION, "code": code}]},
            "criteria": {"language": "text/plain", "expression": indicator.definition_en},
        }
        for code in COUNTED[indicator.scoring]
    ]
    return {
        "resourceType": "Measure",
        "id": indicator.id,
        "url": measure_url(indicator),
        "name": "".join(part.capitalize() for part in indicator.id.split("-")),
        "title": indicator.title,
        "subtitle": indicator.title_en,
        "status": "active",
        "publisher": "Yilian 医联",
        "description": f"{indicator.definition}\n\n{indicator.definition_en}",
        "scoring": {"coding": [{"system": SCORING, "code": indicator.scoring}]},
        "improvementNotation": {"coding": [{"system": IMPROVEMENT, "code": indicator.improvement}]},
        "group": [
            {
                "population": populations,
                "stratifier": [{"code": {"text": name}} for name in indicator.stratifiers],
            }
        ],
    }


def publish_measures(platform: Platform) -> None:
    """Write each Measure that is missing or changed, delete those no longer defined (at
    gateway start; idempotent)."""
    publish(platform, "measures", lambda _session: [measure(i) for i in INDICATORS], ("Measure",))
