"""Changes to the registry made through the admin API, checked exactly as the alliance file is.

The registry is read back as the alliance document it would be as a file
(:func:`registry_document`; secrets as their hashes), the change is made to that document, the
whole document is checked by :func:`~storage.registry.alliance_file.check_alliance` — so a
duplicate AE title or a centre serving a non-member is refused with the very message the file
would get — and applied by the file's own import, in the caller's transaction, with one audit
record per changed entry.  Nothing is written when any check fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from storage.audit import audit
from storage.models import (
    AETitle,
    Alliance,
    ApiClient,
    Base,
    Centre,
    DicomRoute,
    LabItem,
    MllpPeer,
    Organization,
    Qualification,
    RecognitionItem,
    RemoteService,
    User,
)
from storage.policy import Administration
from storage.registry.alliance_file import AllianceFile, AllianceProblems, check_alliance
from storage.registry.alliance_import import apply_alliance
from storage.registry.directory import registry_changed

# The sections the admin API edits, the key of their entries, their table.
SECTIONS: dict[str, tuple[str, type[Base]]] = {
    "organizations": ("id", Organization),
    "alliances": ("id", Alliance),
    "centres": ("id", Centre),
    "ae_titles": ("ae_title", AETitle),
    "mllp_peers": ("id", MllpPeer),
    "api_clients": ("client_id", ApiClient),
    "users": ("username", User),
}
# Sections whose entries may be removed (nothing else points at them by a foreign key that a
# removal would break: the database refuses the rest).
REMOVABLE = frozenset({"ae_titles", "mllp_peers", "api_clients", "users"})
# Kept when a change gives no new secret; never shown.
_SECRETS = {"api_clients": ("secret", "secret_hash"), "users": ("password", "password_hash")}
_LEAD_ONLY = frozenset({"organizations", "alliances", "centres"})


class RegistryConflict(AllianceProblems):
    """The document is valid, but the database holds something it conflicts with."""


class NotInRegistry(LookupError):
    """The entry to change or remove does not exist."""


class NotYours(PermissionError):
    """The entry belongs to an organization or alliance the administrator does not manage."""


@dataclass(frozen=True)
class Edit:
    """One change: ``entry`` is the new entry (created when ``key`` is None), None removes."""

    section: str
    key: str | None
    entry: dict[str, Any] | None


def _without_none(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def registry_document(session: Session) -> dict[str, list[dict[str, Any]]]:
    """The registry as the alliance file that would make it (secrets as their hashes)."""
    alliances = session.scalars(
        select(Alliance).options(selectinload(Alliance.members)).order_by(Alliance.id)
    )
    centres = session.scalars(
        select(Centre).options(selectinload(Centre.served)).order_by(Centre.id)
    )
    users = session.scalars(select(User).options(selectinload(User.roles)).order_by(User.username))
    return {
        "organizations": [
            {"id": o.id, "name": o.name, "kind": o.kind, "national_id": o.national_id}
            for o in session.scalars(select(Organization).order_by(Organization.id))
        ],
        "alliances": [
            _without_none({
                "id": a.id, "name": a.name, "kind": a.kind, "lead": a.lead_org_id,
                "members": [m.org_id for m in a.members],
                "green_channel_minutes": a.green_channel_minutes,
                "calendar": a.calendar,
            })
            for a in alliances
        ],
        "centres": [
            _without_none({
                "id": c.id, "name": c.name, "kind": c.kind, "alliance": c.alliance_id,
                "organization": c.org_id, "serves": [s.org_id for s in c.served],
                "single_sign_off": c.single_sign_off, "due": c.due_rules,
                "report_templates": c.report_templates or [],
                "booking": c.booking_rules or [],
            })
            for c in centres
        ],
        "ae_titles": [
            _without_none({
                "ae_title": a.ae_title, "organization": a.org_id, "kind": a.kind,
                "description": a.description, "host": a.host, "port": a.port,
            })
            for a in session.scalars(select(AETitle).order_by(AETitle.ae_title))
        ],
        "dicom_routes": [
            _without_none({
                "id": r.id, "destination": r.destination_ae,
                "source_organization": r.source_org_id,
                "modalities": [m for m in r.modalities.split("\\") if m],
            })
            for r in session.scalars(select(DicomRoute).order_by(DicomRoute.id))
        ],
        "mllp_peers": [
            _without_none({
                "id": p.id, "organization": p.org_id,
                "sending_application": p.sending_application,
                "sending_facility": p.sending_facility, "encoding": p.encoding,
                "host": p.host, "port": p.port, "order_message": p.order_message,
            })
            for p in session.scalars(select(MllpPeer).order_by(MllpPeer.id))
        ],
        "lab_items": [
            _without_none({
                "organization": i.org_id, "code": i.code, "name": i.name, "loinc": i.loinc,
                "loinc_display": i.loinc_display, "unit": i.unit,
                "critical_low": i.critical_low, "critical_high": i.critical_high,
            })
            for i in session.scalars(select(LabItem).order_by(LabItem.org_id, LabItem.code))
        ],
        "api_clients": [
            _without_none({
                "client_id": c.client_id, "name": c.name, "organization": c.org_id,
                "scopes": c.scopes.split(), "secret_hash": c.secret_hash, "jwks": c.jwks,
            })
            for c in session.scalars(select(ApiClient).order_by(ApiClient.client_id))
        ],
        "users": [
            _without_none({
                "username": u.username, "name": u.display_name, "organization": u.org_id,
                "practitioner_id": u.practitioner_id, "roles": [r.role for r in u.roles],
                "password_hash": u.password_hash,
            })
            for u in users
        ],
        "services": [
            _without_none({
                "code": s.code, "alliance": s.alliance_id, "name": s.name, "name_en": s.name_en,
                "kind": s.kind, "centre": s.centre_id, "performer_roles": s.performer_roles,
                "turnaround_hours": s.turnaround_hours, "fee": f"{s.fee:.2f}", "basis": s.basis,
                "match": {k: v for k, v in s.matches.items() if v},
            })
            for s in session.scalars(
                select(RemoteService).order_by(RemoteService.alliance_id, RemoteService.code)
            )
        ],
        "recognition_items": [
            _without_none({
                "code": i.code, "alliance": i.alliance_id, "name": i.name, "name_en": i.name_en,
                "kind": i.kind, "group": i.group, "window_days": i.window_days,
                "scope": i.scope, "mark": i.mark, "price": f"{i.price:.2f}", "match": i.matches,
            })
            for i in session.scalars(
                select(RecognitionItem).order_by(RecognitionItem.alliance_id, RecognitionItem.code)
            )
        ],
        "qualifications": [
            {"organization": q.org_id, "group": q.group, "valid_from": q.valid_from,
             "valid_until": q.valid_until, "programme": q.programme}
            for q in session.scalars(
                select(Qualification).order_by(Qualification.org_id, Qualification.group,
                                               Qualification.valid_from)
            )
        ],
    }  # fmt: skip


def _index(entries: list[dict[str, Any]], field: str, key: str) -> int | None:
    return next((i for i, e in enumerate(entries) if e.get(field) == key), None)


Entry = dict[str, Any]


def _edited(doc: dict[str, list[Entry]], edit: Edit) -> tuple[str, Entry | None, Entry | None]:
    """Make ``edit`` in ``doc``: the action ('create', 'update', 'delete'), the old entry and
    the new one."""
    field, _ = SECTIONS[edit.section]
    entries = doc[edit.section]
    if edit.key is None:
        assert edit.entry is not None
        entries.append(dict(edit.entry))  # a duplicate key is the check's to report
        return "create", None, entries[-1]
    at = _index(entries, field, edit.key)
    if at is None:
        raise NotInRegistry(f"{edit.section}: no entry with {field} {edit.key!r}")
    old = entries[at]
    if edit.entry is None:
        del entries[at]
        return "delete", old, None
    new = {**edit.entry, field: edit.key}
    plain, hashed = _SECRETS.get(edit.section, ("", ""))
    if plain and new.get(plain) is None and new.get(hashed) is None and old.get(hashed):
        new[hashed] = old[hashed]
    entries[at] = new
    return "update", old, new


def _check_scope(
    admin: Administration, section: str, entry: Entry | None, creating: bool = False
) -> None:
    if entry is None:
        return
    if section in _LEAD_ONLY:
        alliance = entry.get("alliance") if section == "centres" else entry.get("id")
        if section == "organizations":
            if creating or entry.get("id") in admin.orgs:
                return  # a new member: see _joins
            raise NotYours(f"organization {entry.get('id')!r} is not managed by this administrator")
        if alliance not in admin.alliances:
            raise NotYours(f"alliance {alliance!r} is not managed by this administrator")
        return
    if entry.get("organization") not in admin.orgs:
        raise NotYours(
            f"organization {entry.get('organization')!r} is not managed by this administrator"
        )


def _joins(admin: Administration, edits: list[Edit]) -> None:
    """A new organization must be made a member of a managed alliance in the same change."""
    new_orgs = {e.entry["id"] for e in edits if e.section == "organizations" and e.key is None
                and e.entry is not None and isinstance(e.entry.get("id"), str)}  # fmt: skip
    joined = {m for e in edits if e.section == "alliances" and e.entry is not None
              and e.key in admin.alliances for m in e.entry.get("members", [])}  # fmt: skip
    if new_orgs - joined:
        raise NotYours("a new member joins an alliance this administrator manages")


def _changed_fields(old: Entry | None, new: Entry | None) -> list[str]:
    secret_fields = {f for pair in _SECRETS.values() for f in pair}
    names = set(old or {}) | set(new or {})
    return sorted(
        {
            ("secret" if n in secret_fields else n)
            for n in names
            if (old or {}).get(n) != (new or {}).get(n)
        }
    )


def edit_registry(
    session: Session, admin: Administration, edits: list[Edit], actor: str
) -> AllianceFile:
    """Make ``edits`` together, checked as the alliance file is, applied in ``session``'s
    transaction with an audit record each.  Raises :class:`AllianceProblems` (nothing written),
    :class:`NotInRegistry` or :class:`NotYours`."""
    doc = registry_document(session)
    done: list[tuple[Edit, str, Entry | None, Entry | None]] = []
    for edit in edits:
        action, old, new = _edited(doc, edit)
        if action == "delete" and edit.section not in REMOVABLE:
            raise NotYours(f"{edit.section} are not removed through the API")
        done.append((edit, action, old, new))
    parsed = check_alliance(doc)
    for edit, action, old, new in done:
        _check_scope(admin, edit.section, old)
        _check_scope(admin, edit.section, new, creating=action == "create")
    _joins(admin, edits)
    try:
        apply_alliance(session, parsed)
        for edit, action, _, _ in done:
            if action == "delete":
                field, model = SECTIONS[edit.section]
                session.delete(session.get(model, edit.key))
        session.flush()
    except IntegrityError as exc:
        # e.g. a second centre of one kind in an alliance, a peer whose messages are kept
        detail = str(exc.orig).splitlines()[0]
        edit = done[0][0]
        raise RegistryConflict(
            [f"{edit.section}: conflicts with data already in the database: {detail}"]
        ) from exc
    for edit, action, old, new in done:
        field, _ = SECTIONS[edit.section]
        key = edit.key if edit.key is not None else (new or {}).get(field)
        audit(
            session, channel="admin", actor=actor, actor_org_id=admin.org_id, action=action,
            outcome="success", section=edit.section, key=key,
            fields=_changed_fields(old, new),
        )  # fmt: skip
    registry_changed(session)
    return parsed


# Sections replaced whole from a file (CSV): which of an administrator's entries they hold, the
# table and the key of a row (to remove what the new list leaves out).
_REPLACEABLE: dict[str, tuple[type[Base], Any]] = {
    "recognition_items": (RecognitionItem, lambda e: (e["alliance"], e["code"])),
    "qualifications": (Qualification, lambda e: (e["organization"], e["group"], e["valid_from"])),
}


def replace_entries(
    session: Session,
    admin: Administration,
    section: str,
    mine: Any,
    entries: list[Entry],
    actor: str,
) -> AllianceFile:
    """Replace the entries of ``section`` that ``mine`` selects (the administrator's: one
    alliance's catalogue, the qualifications of the members it manages) by ``entries``,
    checked as the alliance file is, applied, what is left out removed, audited once."""
    model, key = _REPLACEABLE[section]
    if not all(mine(e) for e in entries):
        raise NotYours(f"{section}: an entry is outside what this administrator replaces")
    doc = registry_document(session)
    old = [e for e in doc[section] if mine(e)]
    doc[section] = [*entries, *(e for e in doc[section] if not mine(e))]
    parsed = check_alliance(doc)
    apply_alliance(session, parsed)
    kept = {key(e) for e in parsed.model_dump(mode="python")[section] if mine(e)}
    gone = [key(e) for e in old if key(e) not in kept]
    for row in gone:
        session.delete(session.get(model, row))
    session.flush()
    audit(
        session, channel="admin", actor=actor, actor_org_id=admin.org_id, action="replace",
        outcome="success", section=section, count=len(entries), removed=len(gone),
    )  # fmt: skip
    registry_changed(session)
    return parsed
