"""The alliance directory in FHIR, in the shapes of IHE mCSD, generated from the registry and
kept in step with it — so a member's HIS finds the lead hospital, its shared centres, who may
read and sign, and where the images are, with plain FHIR searches:

- ``Organization`` per institution (统一社会信用代码 as identifier, its kind, ``partOf`` its
  alliance when it belongs to exactly one) and per alliance (its kind; the platform's
  ``Endpoint``s);
- ``OrganizationAffiliation`` per alliance and member (lead or member, and the shared centres
  that serve it: ``OrganizationAffiliation?service=HealthcareService/jhzx-pathology`` lists the
  members the pathology centre serves);
- ``HealthcareService`` per shared centre (影像/心电/检验/病理), provided by the lead hospital;
- ``Practitioner`` and ``PractitionerRole`` per person (reader, senior reader, clinician, head,
  admin, and for readers the centres of their institution);
- ``Endpoint``: Yilian's FHIR and DICOMweb bases.

Only the registry writes them (the alliance file, and later the admin API): clients get 405.
They are published when the gateway starts and, through ``registry.changed``, by the worker
whenever an import changed the registry; a resource no longer in the registry is deleted.
"""

from __future__ import annotations

import logging
from typing import Any

from fhir_profiles.profiles import CANONICAL
from gateway.fhir.catalogue import publish_catalogue
from gateway.fhir.imaging_study import ENDPOINT_ID, dicomweb_endpoint
from gateway.fhir.interactions import DIRECTORY_TYPES
from gateway.fhir.publishing import publish
from gateway.workflow.capacity import publish_capacity
from storage.models import AllianceKind, CentreKind, OrgKind, Role
from storage.platform import Platform
from storage.registry import Directory, read_directory
from storage.settings import Settings

log = logging.getLogger("yilian.fhir")

USCC = "urn:yilian:uscc"  # 统一社会信用代码 (GB 32100)
USERS = "urn:yilian:user"
LICENCE = "urn:yilian:practitioner-licence"  # 医师执业证书编码
FHIR_ENDPOINT = "yilian-fhir"

READING_ROLES = {Role.READER.value, Role.SENIOR_READER.value}


def _coding(code_system: str, code: str, display: str) -> dict[str, Any]:
    return {
        "coding": [{"system": f"{CANONICAL}/CodeSystem/{code_system}", "code": code,
                    "display": display}],
        "text": display,
    }  # fmt: skip


def _ref(resource_type: str, resource_id: str) -> dict[str, str]:
    return {"reference": f"{resource_type}/{resource_id}"}


def directory_resources(directory: Directory, settings: Settings) -> list[dict[str, Any]]:
    """Every directory resource the registry implies, ids taken from the registry's."""
    alliances_of: dict[str, list[str]] = {}
    for alliance in directory.alliances:
        for member in alliance.members:
            alliances_of.setdefault(member.org_id, []).append(alliance.id)
    endpoints = [_ref("Endpoint", FHIR_ENDPOINT), _ref("Endpoint", ENDPOINT_ID)]
    resources: list[dict[str, Any]] = [_fhir_endpoint(settings), dicomweb_endpoint(settings)]
    for org in directory.organizations:
        kind = OrgKind(org.kind)
        parents = alliances_of.get(org.id, [])
        resources.append({
            "resourceType": "Organization", "id": org.id, "active": True,
            "identifier": [{"use": "official", "system": USCC, "value": org.national_id}],
            "type": [_coding("organization-kind", kind.value, kind.label_zh)],
            "name": org.name,
            **({"partOf": _ref("Organization", parents[0])} if len(parents) == 1 else {}),
        })  # fmt: skip
    for alliance in directory.alliances:
        kind = AllianceKind(alliance.kind)
        resources.append({
            "resourceType": "Organization", "id": alliance.id, "active": True,
            "type": [_coding("organization-kind", "alliance", "医联体/医共体"),
                     _coding("alliance-kind", kind.value, kind.label_zh)],
            "name": alliance.name, "endpoint": endpoints,
        })  # fmt: skip
        for member in alliance.members:
            resources.append(_affiliation(directory, alliance, member.org_id))
    for centre in directory.centres:
        kind = CentreKind(centre.kind)
        resources.append({
            "resourceType": "HealthcareService", "id": centre.id, "active": True,
            "providedBy": _ref("Organization", centre.org_id),
            "category": [_coding("exam-category", kind.value, kind.label_zh)],
            "name": centre.name, "endpoint": endpoints,
        })  # fmt: skip
    for user in directory.users:
        resources += _people(directory, user)
    return resources


def _affiliation(directory: Directory, alliance: Any, org_id: str) -> dict[str, Any]:
    lead = org_id == alliance.lead_org_id
    serving = [
        _ref("HealthcareService", c.id)
        for c in directory.centres
        if c.alliance_id == alliance.id and org_id in {s.org_id for s in c.served}
    ]
    return {
        "resourceType": "OrganizationAffiliation", "id": f"{alliance.id}.{org_id}",
        "active": True,
        "organization": _ref("Organization", alliance.id),
        "participatingOrganization": _ref("Organization", org_id),
        "network": [_ref("Organization", alliance.id)],
        "code": [_coding("affiliation", "lead" if lead else "member",
                         "牵头单位" if lead else "成员单位")],
        **({"healthcareService": serving} if serving else {}),
    }  # fmt: skip


def _people(directory: Directory, user: Any) -> list[dict[str, Any]]:
    identifiers = [{"system": USERS, "value": user.username}]
    if user.practitioner_id:
        identifiers.append({"system": LICENCE, "value": user.practitioner_id})
    roles = [Role(r.role) for r in user.roles]
    centres = [
        _ref("HealthcareService", c.id)
        for c in directory.centres
        if c.org_id == user.org_id and READING_ROLES & {r.value for r in roles}
    ]
    return [
        {"resourceType": "Practitioner", "id": user.username, "active": True,
         "identifier": identifiers, "name": [{"use": "official", "text": user.display_name}]},
        {"resourceType": "PractitionerRole", "id": user.username, "active": True,
         "practitioner": {**_ref("Practitioner", user.username), "display": user.display_name},
         "organization": _ref("Organization", user.org_id),
         **({"code": [_coding("practitioner-role", r.value, r.label_zh) for r in roles]}
            if roles else {}),
         **({"healthcareService": centres} if centres else {})},
    ]  # fmt: skip


def _fhir_endpoint(settings: Settings) -> dict[str, Any]:
    base = settings.public_url or f"http://{settings.host}:{settings.http_port}"
    return {
        "resourceType": "Endpoint", "id": FHIR_ENDPOINT, "status": "active",
        "connectionType": {
            "system": "http://terminology.hl7.org/CodeSystem/endpoint-connection-type",
            "code": "hl7-fhir-rest",
        },
        "name": "Yilian FHIR R4",
        "payloadType": [{"text": "FHIR R4 resources"}],
        "payloadMimeType": ["application/fhir+json"],
        "address": f"{base.rstrip('/')}/fhir",
    }  # fmt: skip


def publish_directory(platform: Platform) -> None:
    """Write what changed, delete what the registry no longer has (idempotent)."""
    publish(
        platform,
        "directory",
        lambda session: directory_resources(read_directory(session), platform.settings),
        DIRECTORY_TYPES,
    )


def on_registry_changed(platform: Platform, _payload: dict[str, Any]) -> None:
    """Worker handler for ``registry.changed``: the directory, the service catalogue, then
    the centres' bookable slots (their booking rules may have changed)."""
    publish_directory(platform)
    publish_catalogue(platform)
    publish_capacity(platform)
