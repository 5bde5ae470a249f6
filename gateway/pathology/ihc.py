"""Immunohistochemistry results (免疫组化) as coded ``Observation``s: the markers a pathology
centre stains for and the results it writes — graded (阴性 −, 弱阳性 +, 阳性 +, 中等阳性 ++,
强阳性 +++, 局灶阳性), HER2's score (0, 1+, 2+, 3+), a mismatch-repair protein's 表达 /
缺失, or a percentage of stained cells (Ki-67 30%).  Two small ``CodeSystem``s published with
the catalogues; a report's IHC results are contained Observations it names in ``result``, each
with its marker, its value and the specimen (block) stained."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fhir_profiles.profiles import CANONICAL
from gateway.errors import Unprocessable

MARKER = f"{CANONICAL}/CodeSystem/ihc-marker"
RESULT = f"{CANONICAL}/CodeSystem/ihc-result"
UCUM = "http://unitsofmeasure.org"
LABORATORY = {"coding": [{
    "system": "http://terminology.hl7.org/CodeSystem/observation-category",
    "code": "laboratory", "display": "Laboratory"}]}  # fmt: skip
METHOD = {"text": "免疫组织化学染色"}


@dataclass(frozen=True)
class Result:
    code: str
    display: str  # zh-CN
    display_en: str
    sign: str  # as a report prints it: CK(+)


GRADES = (
    Result("negative", "阴性", "Negative", "-"),
    Result("weak", "弱阳性", "Weakly positive", "弱+"),
    Result("positive", "阳性", "Positive", "+"),
    Result("moderate", "中等阳性", "Moderately positive", "++"),
    Result("strong", "强阳性", "Strongly positive", "+++"),
    Result("focal", "局灶阳性", "Focally positive", "灶+"),
)
HER2_SCORES = tuple(Result(f"score-{n}", f"{n}{'+' * bool(n)}", f"Score {n}{'+' * bool(n)}",
                           f"{n}{'+' * bool(n)}") for n in range(4))  # fmt: skip
MMR = (Result("intact", "表达", "Expression intact", "表达"),
       Result("lost", "缺失", "Expression lost", "缺失"))  # fmt: skip
RESULTS = {r.code: r for r in (*GRADES, *HER2_SCORES, *MMR)}
_MMR_MARKERS = ("MLH1", "MSH2", "MSH6", "PMS2")
# The markers, and the results each takes besides the grades and a percentage.
MARKERS: dict[str, tuple[Result, ...]] = {
    **{code: () for code in (
        "CK", "CK7", "CK20", "CK5/6", "EMA", "Vimentin", "S-100", "Desmin", "SMA", "CD3",
        "CD20", "CD30", "CD34", "CD56", "CD117", "DOG1", "Ki-67", "ER", "PR", "P53", "P63",
        "P40", "P16", "TTF-1", "NapsinA", "Syn", "CgA", "CDX2", "PD-L1", "E-cadherin", "GATA3",
        "PAX8", "WT1", "HMB45", "Melan-A", "SOX10", "LCA", "Calretinin", "CEA", "Villin",
    )},
    "HER2": HER2_SCORES,
    **{code: MMR for code in _MMR_MARKERS},
}  # fmt: skip


def checked(
    observation: Any, subject: dict[str, Any], specimens: set[str], status: str
) -> dict[str, Any]:
    """A contained IHC result as the server keeps it: its marker known, its value one the
    marker takes, on a specimen (``Specimen/{id}``) of ``specimens`` — else 422."""
    if not isinstance(observation, dict) or not observation.get("id"):
        raise Unprocessable("an IHC result is a contained Observation with its id", [])
    marker = marker_of(observation)
    if marker not in MARKERS:
        raise Unprocessable(f"not an IHC marker of this centre: {marker or '(none)'}", [])
    shown = result_sign(observation)
    if shown is None:
        raise Unprocessable(
            f"{marker}: give a result of {RESULT} it takes, or valueQuantity 0–100 %", []
        )
    specimen = str((observation.get("specimen") or {}).get("reference", ""))
    if specimen not in specimens:
        raise Unprocessable(f"{marker}: name the accepted specimen of this order it was "
                            "stained on (specimen)", [])  # fmt: skip
    value = {k: v for k, v in observation.items() if k.startswith("value")}
    return {
        "resourceType": "Observation", "id": observation["id"], "status": status,
        "category": [LABORATORY],
        "code": {"coding": [{"system": MARKER, "code": marker, "display": marker}],
                 "text": marker},
        "subject": subject, "method": METHOD, "specimen": {"reference": specimen},
        **value,
    }  # fmt: skip


def marker_of(observation: dict[str, Any]) -> str | None:
    for coding in (observation.get("code") or {}).get("coding", []):
        if coding.get("system") == MARKER:
            return str(coding.get("code"))
    return None


def result_sign(observation: dict[str, Any]) -> str | None:
    """How the result prints (``+``, ``2+``, ``30%``); None when the marker does not take it."""
    quantity = observation.get("valueQuantity")
    if isinstance(quantity, dict):
        value = quantity.get("value")
        in_percent = quantity.get("system") == UCUM and quantity.get("code") == "%"
        if in_percent and isinstance(value, int | float) and 0 <= value <= 100:
            return f"{value:g}%"
        return None
    takes = {r.code: r for r in (*GRADES, *MARKERS.get(marker_of(observation) or "", ()))}
    for coding in (observation.get("valueCodeableConcept") or {}).get("coding", []):
        if coding.get("system") == RESULT and coding.get("code") in takes:
            return takes[str(coding["code"])].sign
    return None


def printed(observations: list[dict[str, Any]]) -> str:
    """The results as a pathology report writes them: ``CK(+)，Ki-67(30%)``."""
    return "，".join(f"{marker_of(o)}({result_sign(o)})" for o in observations)


def code_systems() -> list[dict[str, Any]]:
    markers = [{"code": code, "display": code} for code in MARKERS]
    results = [{"code": r.code, "display": r.display,
                "designation": [{"language": "en", "value": r.display_en}]}
               for r in RESULTS.values()]  # fmt: skip
    return [
        _code_system("ihc-marker", "IhcMarker", "免疫组化标记物", MARKER,
                     "The markers a pathology centre stains for (免疫组化标记物).", markers),
        _code_system("ihc-result", "IhcResult", "免疫组化结果", RESULT,
                     "Immunohistochemistry results: graded, HER2 scores, mismatch-repair "
                     "expression (a percentage is a valueQuantity in %).", results),
    ]  # fmt: skip


def _code_system(
    id: str, name: str, title: str, url: str, description: str, concepts: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "resourceType": "CodeSystem", "id": id, "url": url, "name": name, "title": title,
        "status": "active", "publisher": "Yilian 医联", "description": description,
        "caseSensitive": True, "content": "complete", "count": len(concepts),
        "concept": concepts,
    }  # fmt: skip
