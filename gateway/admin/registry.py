"""The registry through HTTP, for administrators: ``/admin/registry``.

- ``GET /admin/registry``: the sections the administrator manages (members, alliances, centres
  with the members they serve, AE titles, MLLP peers, API clients, users with their roles), in
  the alliance file's shape, secrets left out, and the codes each field takes.
- ``POST /admin/registry/{section}``: a new entry (201); ``PUT …/{section}/{key}``: the entry
  replaced; ``DELETE …/{section}/{key}`` (AE titles, MLLP peers, API clients, users).
  An organization given with ``alliance`` joins (or stays in) that alliance in the same change.
- ``POST /admin/registry/api_clients/{id}/$rotate-secret``: a new secret.

A new API client without a secret or keys gets one, and a rotation makes one: the secret is in
that one answer and nowhere else (the registry keeps its Argon2 hash).  Every change is checked
as the alliance file is (``storage.registry.edit_registry``): a refusal is a 422 whose
``problems`` are the file check's own messages, and nothing is written.  Changes apply to new
connections without a restart: the DICOM node re-reads the AE titles within seconds.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Body, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from gateway.admin.access import administrator, json_response
from gateway.auth.routes import Auth
from gateway.auth.tokens import Requester
from gateway.errors import Conflict, Forbidden, MethodNotAllowed, NotFound, Unprocessable
from gateway.routing import PrefixRouter
from gateway.transactions import run_in_transaction
from storage.models import (
    AEKind,
    AllianceKind,
    CentreKind,
    HL7Encoding,
    LabelledEnum,
    OrderMessage,
    OrgKind,
    Role,
)
from storage.platform import Platform
from storage.policy import Administration
from storage.registry import (
    REMOVABLE,
    SECTIONS,
    AllianceProblems,
    Edit,
    NotInRegistry,
    NotYours,
    RegistryConflict,
    edit_registry,
    registry_document,
)

EntryBody = Annotated[dict[str, Any], Body()]
_HIDDEN = ("secret_hash", "password_hash", "secret", "password")
_CHOICES: dict[str, type[LabelledEnum]] = {
    "organizationKind": OrgKind,
    "allianceKind": AllianceKind,
    "centreKind": CentreKind,
    "aeKind": AEKind,
    "role": Role,
    "encoding": HL7Encoding,
    "orderMessage": OrderMessage,
}


def _shown(section: str, entry: dict[str, Any]) -> dict[str, Any]:
    shown = {k: v for k, v in entry.items() if k not in _HIDDEN}
    if section in ("api_clients", "users"):
        shown["hasSecret"] = bool(entry.get("secret_hash") or entry.get("password_hash"))
    return shown


def _managed(admin: Administration, section: str, entry: dict[str, Any]) -> bool:
    if section == "organizations":
        return entry["id"] in admin.orgs
    if section == "alliances":
        return entry["id"] in admin.alliances or admin.org_id in entry["members"]
    if section == "centres":
        return entry["alliance"] in admin.alliances
    return entry.get("organization") in admin.orgs


def _view(session: Session, admin: Administration) -> dict[str, Any]:
    doc = registry_document(session)
    return {
        "sections": {
            section: [_shown(section, e) for e in doc[section] if _managed(admin, section, e)]
            for section in SECTIONS
        },
        "manages": {"alliances": sorted(admin.alliances), "organizations": sorted(admin.orgs)},
        "removable": sorted(REMOVABLE),
        "choices": {
            name: [{"code": m.value, "label": m.label_zh} for m in enum]
            for name, enum in _CHOICES.items()
        },
    }


def _organization_edits(session: Session, key: str | None, body: dict[str, Any]) -> list[Edit]:
    """An organization, and its membership of ``body['alliance']`` when given."""
    entry = {k: v for k, v in body.items() if k != "alliance"}
    edits = [Edit("organizations", key, entry)]
    alliance_id = body.get("alliance")
    if alliance_id is None:
        return edits
    alliance = next(
        (a for a in registry_document(session)["alliances"] if a["id"] == alliance_id), None
    )
    if alliance is None:
        raise NotFound(f"no alliance {alliance_id!r}")
    org_id = key if key is not None else entry.get("id")
    if org_id not in alliance["members"]:
        members = [*alliance["members"], org_id]
        edits.append(Edit("alliances", alliance_id, {**alliance, "members": members}))
    return edits


def _change(session: Session, requester: Requester, edits: list[Edit]) -> dict[str, Any]:
    admin = administrator(session, requester)
    if edits[0].entry is None and edits[0].section not in REMOVABLE:
        raise MethodNotAllowed(f"{edits[0].section} are not removed through the API")
    try:
        edit_registry(session, admin, edits, requester.subject)
    except RegistryConflict as exc:
        conflict = Conflict("\n".join(exc.problems))
        conflict.problems = [("", problem) for problem in exc.problems]
        raise conflict from exc
    except AllianceProblems as exc:
        raise Unprocessable(
            "\n".join(exc.problems), [("", problem) for problem in exc.problems]
        ) from exc
    except NotInRegistry as exc:
        raise NotFound(str(exc)) from exc
    except NotYours as exc:
        raise Forbidden(str(exc)) from exc
    first = edits[0]
    field, _ = SECTIONS[first.section]
    key = first.key if first.key is not None else (first.entry or {}).get(field)
    entry = next(
        (e for e in registry_document(session)[first.section] if e.get(field) == key), None
    )
    return {
        "section": first.section,
        "key": key,
        "entry": _shown(first.section, entry) if entry else None,
    }


def _section(section: str) -> str:
    if section not in SECTIONS:
        raise NotFound(f"no registry section {section!r}; sections: {', '.join(SECTIONS)}")
    return section


def router(platform: Platform) -> APIRouter:
    api = PrefixRouter(prefix="/admin/registry", tags=["administration"])

    async def run(work: Any) -> Any:
        return await run_in_threadpool(run_in_transaction, platform, work)

    @api.get("")
    async def view(requester: Auth) -> Response:
        return json_response(await run(lambda s: _view(s, administrator(s, requester))))

    @api.post("/{section}")
    async def create(requester: Auth, section: str, body: EntryBody) -> Response:
        _section(section)
        generated = None
        if section == "api_clients" and not any(
            body.get(k) is not None for k in ("secret", "secret_hash", "jwks")
        ):
            generated = secrets.token_urlsafe(32)
            body = {**body, "secret": generated}

        def work(session: Session) -> dict[str, Any]:
            administrator(session, requester)
            if section == "organizations":
                return _change(session, requester, _organization_edits(session, None, body))
            return _change(session, requester, [Edit(section, None, body)])

        answer = await run(work)
        if generated is not None:
            answer["secret"] = generated
        return json_response(answer, 201)

    @api.put("/{section}/{key}")
    async def replace(requester: Auth, section: str, key: str, body: EntryBody) -> Response:
        _section(section)

        def work(session: Session) -> dict[str, Any]:
            administrator(session, requester)
            if section == "organizations":
                return _change(session, requester, _organization_edits(session, key, body))
            return _change(session, requester, [Edit(section, key, body)])

        return json_response(await run(work))

    @api.delete("/{section}/{key}")
    async def remove(requester: Auth, section: str, key: str) -> Response:
        _section(section)
        if section == "users" and key == requester.subject:
            raise Conflict("an administrator does not remove their own user")
        await run(lambda s: _change(s, requester, [Edit(section, key, None)]))
        return Response(status_code=204)

    @api.post("/api_clients/{client_id}/$rotate-secret")
    async def rotate(requester: Auth, client_id: str) -> Response:
        secret = secrets.token_urlsafe(32)

        def work(session: Session) -> dict[str, Any]:
            current = next(
                (c for c in registry_document(session)["api_clients"]
                 if c["client_id"] == client_id),
                None,
            )  # fmt: skip
            if current is None:
                administrator(session, requester)
                raise NotFound(f"api_clients: no entry with client_id {client_id!r}")
            entry = {k: v for k, v in current.items() if k != "secret_hash"} | {"secret": secret}
            return _change(session, requester, [Edit("api_clients", client_id, entry)])

        answer = await run(work)
        return json_response({**answer, "secret": secret})

    return api
