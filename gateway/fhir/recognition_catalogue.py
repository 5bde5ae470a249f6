"""The alliance's recognition catalogue in FHIR (互认项目目录): one ``CodeSystem`` per alliance,
``…/CodeSystem/{alliance}.recognition-items``, its concepts the catalogue's items with what
they are and how they are recognised as properties — kind, QC group, window (days), scope,
mark, price (CNY), and the modality and body site or the LOINC code that match an order.
Published with the service catalogue (at gateway start and on ``registry.changed``); an
alliance's catalogue no longer in the registry is deleted.  Every member reads it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fhir_profiles.profiles import CANONICAL
from storage.exam_codes import DCM, LOINC
from storage.models import Alliance, RecognitionItem, RecognitionKind, RecognitionScope

SUFFIX = ".recognition-items"
SNOMED = "http://snomed.info/sct"
PROPERTIES = (
    ("kind", "code", "imaging | ultrasound | ecg | lab"),
    ("group", "code", "the QC / EQA item group a member qualifies for (质控项目组)"),
    ("window-days", "integer", "days a result stays recognisable"),
    ("scope", "code", "alliance | city | province"),
    ("mark", "string", "the mark a recognisable result carries, e.g. 浙HR"),
    ("price", "decimal", "what a repeat would cost, CNY"),
    ("modality", "Coding", "the DICOM modality an order asks for"),
    ("body-site", "Coding", "a body site the item covers: SNOMED CT, or a DICOM body part"),
    ("loinc", "Coding", "the LOINC code of a lab item"),
)


def system_url(alliance_id: str) -> str:
    """The code system of the alliance's items (a prior's ``item`` Coding names it)."""
    return f"{CANONICAL}/CodeSystem/{alliance_id}{SUFFIX}"


def _properties(item: RecognitionItem) -> Iterable[dict[str, Any]]:
    yield {"code": "kind", "valueCode": item.kind}
    yield {"code": "group", "valueCode": item.group}
    yield {"code": "window-days", "valueInteger": item.window_days}
    yield {"code": "scope", "valueCode": item.scope}
    yield {"code": "mark", "valueString": item.mark}
    yield {"code": "price", "valueDecimal": float(item.price)}
    if item.matches.get("modality"):
        yield {"code": "modality", "valueCoding": {"system": DCM, "code": item.matches["modality"]}}
    for site in item.matches.get("body_sites", []):
        # SNOMED CT concept ids are digits; otherwise a DICOM BodyPartExamined term (HEAD).
        coding = {"system": SNOMED, "code": site} if site.isdigit() else {"code": site}
        yield {"code": "body-site", "valueCoding": coding}
    if item.matches.get("loinc"):
        yield {"code": "loinc", "valueCoding": {"system": LOINC, "code": item.matches["loinc"]}}


def _concept(item: RecognitionItem) -> dict[str, Any]:
    kind = RecognitionKind(item.kind)
    scope = RecognitionScope(item.scope)
    return {
        "code": item.code,
        "display": item.name,
        "definition": f"{kind.label_zh}：{item.name}，{scope.label_zh}（{item.mark}），"
        f"{item.window_days} 天内有效，{item.price:.2f} 元",
        **({"designation": [{"language": "en", "value": item.name_en}]} if item.name_en else {}),
        "property": list(_properties(item)),
    }


def code_system(alliance: Alliance, items: list[RecognitionItem]) -> dict[str, Any]:
    return {
        "resourceType": "CodeSystem",
        "id": f"{alliance.id}{SUFFIX}",
        "url": system_url(alliance.id),
        "name": "RecognitionItems" + "".join(p.capitalize() for p in alliance.id.split("-")),
        "title": f"{alliance.name} 检查检验结果互认项目目录",
        "status": "active",
        "publisher": alliance.name,
        "description": "The alliance's recognition catalogue (互认项目目录): each item, what "
        "it matches, its QC group, window, scope, mark and price.",
        "caseSensitive": True,
        "content": "complete",
        "count": len(items),
        "property": [{"code": code, "type": kind, "description": text}
                     for code, kind, text in PROPERTIES],
        "concept": [_concept(item) for item in items],
    }  # fmt: skip


def recognition_code_systems(session: Session) -> list[dict[str, Any]]:
    items = session.scalars(
        select(RecognitionItem).order_by(RecognitionItem.alliance_id, RecognitionItem.code)
    ).all()
    by_alliance: dict[str, list[RecognitionItem]] = {}
    for item in items:
        by_alliance.setdefault(item.alliance_id, []).append(item)
    return [
        code_system(alliance, by_alliance[alliance.id])
        for alliance in session.scalars(select(Alliance).order_by(Alliance.id))
        if alliance.id in by_alliance
    ]


def owned(resource_type: str, resource_id: str) -> bool:
    """What the catalogue's publishing deletes when the registry no longer has it: its
    ChargeItemDefinitions and these code systems (not the server's terminology)."""
    return resource_type != "CodeSystem" or resource_id.endswith(SUFFIX)
