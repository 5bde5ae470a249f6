"""The alliance's remote-service catalogue in FHIR: one ``ChargeItemDefinition`` per service of
the alliance file's ``services`` (五个统一: one fee standard, one service specification),
generated from the registry and kept in step with it like the directory — published at gateway
start and on ``registry.changed``; a service no longer in the registry is deleted.  Clients
read and search them (every member: they are shared), never write them (405).

Per service: ``url`` (``…/ChargeItemDefinition/{alliance}.{code}``, what a ``ChargeItem``'s
``definitionCanonical`` names), ``code`` (code system ``remote-service``), ``title``, the
alliance as ``publisher`` and ``useContext``, the fee as the base ``priceComponent`` (CNY; its
``code`` the basis: 每例 / 每项 / 每次), and the specification as extensions — the centre that
performs it, the roles that may, the turnaround — with what work it is in ``applicability``."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fhir_profiles.profiles import CANONICAL
from gateway.ecg import conclusions
from gateway.fhir.interactions import CATALOGUE_TYPES
from gateway.fhir.publishing import publish
from gateway.fhir.recognition_catalogue import owned, recognition_code_systems
from gateway.pathology import ihc
from storage.models import Alliance, Centre, FeeBasis, RemoteService, Role, ServiceKind
from storage.platform import Platform

SERVICE_CODES = f"{CANONICAL}/CodeSystem/remote-service"
FEE_BASIS = f"{CANONICAL}/CodeSystem/fee-basis"
PERFORMER = f"{CANONICAL}/StructureDefinition/service-performer"
PERFORMER_ROLE = f"{CANONICAL}/StructureDefinition/service-performer-role"
TURNAROUND = f"{CANONICAL}/StructureDefinition/service-turnaround"
CURRENCY = "CNY"


def definition_id(alliance_id: str, code: str) -> str:
    return f"{alliance_id}.{code}"


def definition_url(alliance_id: str, code: str) -> str:
    return f"{CANONICAL}/ChargeItemDefinition/{definition_id(alliance_id, code)}"


def service_code(code: str, name: str) -> dict[str, Any]:
    return {"coding": [{"system": SERVICE_CODES, "code": code, "display": name}], "text": name}


def money(amount: Decimal) -> dict[str, Any]:
    """FHIR ``Money``: the value is a JSON number (FHIR decimal), written from the exact fee."""
    return {"value": float(amount), "currency": CURRENCY}


def _applies_to(service: RemoteService, centre: Centre) -> str:
    matches = service.matches
    if matches.get("lab_codes"):
        return f"{centre.name}检验项目：{'、'.join(matches['lab_codes'])}"
    if matches.get("order_codes"):
        return f"申请项目编码：{'、'.join(matches['order_codes'])}"
    if matches.get("modalities"):
        return f"{centre.name}阅片，检查类型：{'、'.join(matches['modalities'])}"
    return f"{centre.name}签发的报告"


def charge_item_definition(
    service: RemoteService, alliance: Alliance, centre: Centre
) -> dict[str, Any]:
    kind = ServiceKind(service.kind)
    basis = FeeBasis(service.basis)
    roles = [Role(r) for r in service.performer_roles]
    return {
        "resourceType": "ChargeItemDefinition",
        "id": definition_id(alliance.id, service.code),
        "extension": [
            {"url": PERFORMER, "valueReference": {
                "reference": f"HealthcareService/{centre.id}", "display": centre.name}},
            *({"url": PERFORMER_ROLE, "valueCodeableConcept": {"coding": [{
                "system": f"{CANONICAL}/CodeSystem/practitioner-role", "code": r.value,
                "display": r.label_zh}]}} for r in roles),
            {"url": TURNAROUND, "valueDuration": {
                "value": service.turnaround_hours, "unit": "h",
                "system": "http://unitsofmeasure.org", "code": "h"}},
        ],
        "url": definition_url(alliance.id, service.code),
        "identifier": [{"system": SERVICE_CODES, "value": service.code}],
        "title": service.name,
        "status": "active",
        "publisher": alliance.name,
        "description": f"{kind.label_zh}：{service.name}"
        + (f"（{service.name_en}）" if service.name_en else "")
        + f"，{centre.name}执行，{service.turnaround_hours} 小时内出具报告，"
        f"{basis.label_zh} {service.fee:.2f} 元。",
        "useContext": [{
            "code": {"system": "http://terminology.hl7.org/CodeSystem/usage-context-type",
                     "code": "program"},
            "valueReference": {"reference": f"Organization/{alliance.id}",
                               "display": alliance.name},
        }],
        "code": service_code(service.code, service.name),
        "applicability": [{"description": _applies_to(service, centre)}],
        "propertyGroup": [{"priceComponent": [{
            "type": "base",
            "code": {"coding": [{"system": FEE_BASIS, "code": basis.value,
                                 "display": basis.label_zh}], "text": basis.label_zh},
            "amount": money(service.fee),
        }]}],
    }  # fmt: skip


def catalogue_resources(session: Session) -> list[dict[str, Any]]:
    services = session.scalars(
        select(RemoteService).order_by(RemoteService.alliance_id, RemoteService.code)
    )
    resources = []
    for service in services:
        alliance = session.get(Alliance, service.alliance_id)
        centre = session.get(Centre, service.centre_id)
        if alliance is not None and centre is not None:
            resources.append(charge_item_definition(service, alliance, centre))
    return resources


def publish_catalogue(platform: Platform) -> None:
    """Write what changed, delete what the registry no longer has (idempotent): the service
    catalogue, the recognition catalogue, the ECG centre's coded conclusions and the
    pathology centre's immunohistochemistry codes."""
    publish(
        platform,
        "catalogue",
        lambda session: [
            *catalogue_resources(session),
            *recognition_code_systems(session),
            conclusions.code_system(),
            *ihc.code_systems(),
        ],
        (*CATALOGUE_TYPES, "CodeSystem"),
        owned,
    )
