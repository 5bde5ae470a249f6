"""The ECG centre's coded conclusions (心电图诊断结论): a small ``CodeSystem`` of what a
cardiologist concludes, each concept with its SNOMED CT finding where one exists and whether
it is a critical finding (心电危急值: acute STEMI, VT/VF, third-degree AV block …) that goes
through the critical-value chain when the report is signed.  Published with the catalogues
(:mod:`gateway.fhir.catalogue`); a report's ``conclusionCode`` carries its coding and the
SNOMED CT one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fhir_profiles.profiles import CANONICAL

SYSTEM = f"{CANONICAL}/CodeSystem/ecg-conclusion"
SNOMED = "http://snomed.info/sct"


@dataclass(frozen=True)
class Conclusion:
    code: str
    display: str  # zh-CN, as the report prints it
    display_en: str
    snomed: str | None
    critical: bool = False
    rhythm: bool = False  # a rhythm (心律), the report's rhythm field


CONCLUSIONS: tuple[Conclusion, ...] = (
    Conclusion("sinus-rhythm", "窦性心律", "Sinus rhythm", "426783006", rhythm=True),
    Conclusion("sinus-tachycardia", "窦性心动过速", "Sinus tachycardia", "427084000", rhythm=True),
    Conclusion("sinus-bradycardia", "窦性心动过缓", "Sinus bradycardia", "426177001", rhythm=True),
    Conclusion("atrial-fibrillation", "心房颤动", "Atrial fibrillation", "164889003", rhythm=True),
    Conclusion("atrial-flutter", "心房扑动", "Atrial flutter", "164890007", rhythm=True),
    Conclusion("ventricular-tachycardia", "室性心动过速", "Ventricular tachycardia", "25569003",
               critical=True, rhythm=True),
    Conclusion("ventricular-fibrillation", "心室颤动", "Ventricular fibrillation", "71908006",
               critical=True, rhythm=True),
    Conclusion("st-elevation", "ST段抬高", "ST elevation", "164931005", critical=True),
    Conclusion("stemi", "急性ST段抬高型心肌梗死", "Acute ST elevation myocardial infarction",
               "401303003", critical=True),
    Conclusion("st-depression", "ST段压低", "ST depression", "429622005"),
    Conclusion("t-wave-change", "T波改变", "T wave abnormal", "164934002"),
    Conclusion("crbbb", "完全性右束支传导阻滞", "Complete right bundle branch block",
               "713427006"),
    Conclusion("clbbb", "完全性左束支传导阻滞", "Complete left bundle branch block", "733534002"),
    Conclusion("av-block-1", "一度房室传导阻滞", "First degree AV block", "270492004"),
    Conclusion("av-block-2", "二度房室传导阻滞", "Second degree AV block", "195042002"),
    Conclusion("av-block-3", "三度房室传导阻滞", "Third degree AV block", "27885002",
               critical=True),
    Conclusion("normal-ecg", "正常心电图", "Normal ECG", None),
)  # fmt: skip
BY_CODE = {c.code: c for c in CONCLUSIONS}


def coding(conclusion: Conclusion) -> list[dict[str, str]]:
    """The concept's codings: ours, then SNOMED CT's when it has one."""
    ours = {"system": SYSTEM, "code": conclusion.code, "display": conclusion.display}
    if conclusion.snomed is None:
        return [ours]
    return [ours, {"system": SNOMED, "code": conclusion.snomed,
                   "display": conclusion.display_en}]  # fmt: skip


def conclusions_of(concepts: list[dict[str, Any]]) -> list[Conclusion | str]:
    """The coded conclusions a report names, in order; an unknown code of our system as its
    code (a string) for the caller to refuse.  Concepts without our system are not ours."""
    found: list[Conclusion | str] = []
    for concept in concepts:
        for given in concept.get("coding", []):
            if given.get("system") == SYSTEM:
                code = str(given.get("code", ""))
                found.append(BY_CODE.get(code, code))
    return found


def code_system() -> dict[str, Any]:
    return {
        "resourceType": "CodeSystem",
        "id": "ecg-conclusion",
        "url": SYSTEM,
        "name": "EcgConclusion",
        "title": "心电图诊断结论",
        "status": "active",
        "publisher": "Yilian 医联",
        "description": "What an ECG centre concludes (心电图诊断结论); each concept's SNOMED CT "
        "finding, whether it is a critical finding (心电危急值) and whether it is a rhythm.",
        "caseSensitive": True,
        "content": "complete",
        "count": len(CONCLUSIONS),
        "property": [
            {"code": "snomed", "type": "Coding", "description": "the SNOMED CT finding"},
            {"code": "critical", "type": "boolean", "description": "a critical finding"},
            {"code": "rhythm", "type": "boolean", "description": "a rhythm (心律)"},
        ],
        "concept": [_concept(c) for c in CONCLUSIONS],
    }


def _concept(conclusion: Conclusion) -> dict[str, Any]:
    properties: list[dict[str, Any]] = [
        {"code": "critical", "valueBoolean": conclusion.critical},
        {"code": "rhythm", "valueBoolean": conclusion.rhythm},
    ]
    if conclusion.snomed:
        snomed = {"system": SNOMED, "code": conclusion.snomed, "display": conclusion.display_en}
        properties.insert(0, {"code": "snomed", "valueCoding": snomed})
    return {
        "code": conclusion.code,
        "display": conclusion.display,
        "designation": [{"language": "en", "value": conclusion.display_en}],
        "property": properties,
    }
