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

# The families a quality office reads the indicators by (``Measure.topic``): code, zh-CN, en.
FAMILIES: tuple[tuple[str, str, str, tuple[Indicator, ...]], ...] = (
    ("reading", "远程诊断", "Remote reading", reading.INDICATORS),
    ("chest-pain", "胸痛中心", "Chest-pain centre", chest_pain.INDICATORS),
    ("examinations", "基层检查", "Grassroots examinations", examinations.INDICATORS),
    ("lab", "检验", "Lab", lab.INDICATORS),
    ("critical", "危急值", "Critical values", critical.INDICATORS),
    ("referrals", "双向转诊", "Two-way referral", referrals.INDICATORS),
    ("booking", "预约检查", "Exam booking", booking.INDICATORS),
    ("recognition", "检查检验结果互认", "Mutual recognition", recognition.INDICATORS),
)
INDICATORS: tuple[Indicator, ...] = tuple(i for *_, family in FAMILIES for i in family)
FAMILY_SYSTEM = f"{CANONICAL}/CodeSystem/indicator-family"
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


def _topic(indicator: Indicator) -> dict[str, Any]:
    code, title, title_en = next(
        (code, title, title_en) for code, title, title_en, family in FAMILIES if indicator in family
    )
    return {"coding": [{"system": FAMILY_SYSTEM, "code": code, "display": title_en}], "text": title}


def measure(indicator: Indicator) -> dict[str, Any]:
    """The indicator as an R4 ``Measure``, its family as its ``topic``."""
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
        "topic": [_topic(indicator)],
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
