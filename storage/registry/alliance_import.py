"""Apply an alliance file to the database: one transaction, idempotent, nothing half-imported."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from storage.db import transaction
from storage.errors import ConfigError
from storage.models import (
    AETitle,
    Alliance,
    AllianceMember,
    ApiClient,
    Base,
    Centre,
    CentreServed,
    DicomRoute,
    LabItem,
    MllpPeer,
    Organization,
    Qualification,
    RecognitionItem,
    RemoteService,
    User,
    UserRole,
)
from storage.registry.alliance_file import AllianceFile, parse_alliance_file
from storage.registry.directory import registry_changed
from storage.registry.secrets import hash_secret, verify_secret


@dataclass
class ImportReport:
    created: Counter[str] = field(default_factory=Counter)
    updated: Counter[str] = field(default_factory=Counter)
    unchanged: Counter[str] = field(default_factory=Counter)

    @property
    def changed(self) -> bool:
        return bool(sum(self.created.values()) + sum(self.updated.values()))

    def summary(self) -> str:
        sections = sorted(set(self.created) | set(self.updated) | set(self.unchanged))
        return "; ".join(
            f"{s}: {self.created[s]} created, {self.updated[s]} updated, "
            f"{self.unchanged[s]} unchanged"
            for s in sections
        )


def import_alliance_file(sessions: sessionmaker[Session], path: Path) -> ImportReport:
    """Validate ``path`` completely, then apply it in one transaction (which also asks for the
    directory to be published again when anything changed)."""
    parsed = parse_alliance_file(path)
    try:
        with transaction(sessions) as session:
            report = apply_alliance(session, parsed)
            if report.changed:
                registry_changed(session)
            return report
    except IntegrityError as exc:
        # e.g. a national_id already held by another organization in the database
        detail = str(exc.orig).splitlines()[0]
        raise ConfigError(f"{path}: conflicts with data already in the database: {detail}") from exc


def _secret_hash(existing_hash: str | None, plain: str | None, given_hash: str | None) -> str:
    """Keep the stored hash when the plaintext still matches, so re-imports change nothing."""
    if given_hash is not None:
        return given_hash
    assert plain is not None
    if existing_hash is not None and verify_secret(existing_hash, plain):
        return existing_hash
    return hash_secret(plain)


Children = tuple[str, list[Any], str]  # (relationship attribute, wanted rows, key attribute)


class _Upserter:
    def __init__(self, session: Session, report: ImportReport) -> None:
        self.session = session
        self.report = report

    def row(
        self,
        section: str,
        model: type[Base],
        key: Any,
        values: dict[str, Any],
        children: tuple[Children, ...] = (),
    ) -> None:
        """Create or update one entry (and its child collections), counting what happened."""
        existing = self.session.get(model, key)
        if existing is None:
            obj = model(**values)
            for attr, wanted, _ in children:
                setattr(obj, attr, wanted)
            self.session.add(obj)
            self.report.created[section] += 1
            return
        changed = False
        for name, value in values.items():
            if getattr(existing, name) != value:
                setattr(existing, name, value)
                changed = True
        for attr, wanted, child_key in children:
            changed |= self._sync(getattr(existing, attr), wanted, child_key)
        self.report.updated[section] += changed
        self.report.unchanged[section] += not changed

    @staticmethod
    def _sync(current: list[Any], wanted: list[Any], key: str) -> bool:
        """Make ``current`` hold exactly the keys of ``wanted``, keeping rows that stay."""
        wanted_keys = {getattr(w, key) for w in wanted}
        current_keys = {getattr(c, key) for c in current}
        if wanted_keys == current_keys:
            return False
        for row in [c for c in current if getattr(c, key) not in wanted_keys]:
            current.remove(row)
        current.extend(w for w in wanted if getattr(w, key) not in current_keys)
        return True


def apply_alliance(session: Session, f: AllianceFile) -> ImportReport:
    report = ImportReport()
    up = _Upserter(session, report)
    for o in f.organizations:
        up.row(
            "organizations",
            Organization,
            o.id,
            {"id": o.id, "name": o.name, "kind": o.kind.value, "national_id": o.national_id},
        )
    for a in f.alliances:
        members = [AllianceMember(alliance_id=a.id, org_id=m) for m in dict.fromkeys(a.members)]
        up.row(
            "alliances",
            Alliance,
            a.id,
            {
                "id": a.id,
                "name": a.name,
                "kind": a.kind.value,
                "lead_org_id": a.lead,
                "green_channel_minutes": a.green_channel_minutes,
                "calendar": None if a.calendar is None else a.calendar.stored(),
            },
            children=(("members", members, "org_id"),),
        )
    alliances = {a.id: a for a in f.alliances}
    for c in f.centres:
        served = c.serves or [m for m in alliances[c.alliance].members if m != c.organization]
        rows = [CentreServed(centre_id=c.id, org_id=o) for o in dict.fromkeys(served)]
        up.row(
            "centres",
            Centre,
            c.id,
            {
                "id": c.id,
                "name": c.name,
                "kind": c.kind.value,
                "org_id": c.organization,
                "alliance_id": c.alliance,
                "single_sign_off": c.single_sign_off,
                "due_rules": None
                if c.due is None
                else [r.model_dump(exclude_none=True) for r in c.due],
                "report_templates": [t.model_dump() for t in c.report_templates],
                "booking_rules": [r.model_dump() for r in c.booking],
            },
            children=(("served", rows, "org_id"),),
        )
    for ae in f.ae_titles:
        up.row(
            "ae_titles",
            AETitle,
            ae.ae_title,
            {
                "ae_title": ae.ae_title,
                "org_id": ae.organization,
                "kind": ae.kind.value,
                "description": ae.description,
                "host": ae.host,
                "port": ae.port,
            },
        )
    for r in f.dicom_routes:
        up.row(
            "dicom_routes",
            DicomRoute,
            r.id,
            {
                "id": r.id,
                "destination_ae": r.destination,
                "source_org_id": r.source_organization,
                "modalities": "\\".join(r.modalities),
            },
        )
    for p in f.mllp_peers:
        up.row(
            "mllp_peers",
            MllpPeer,
            p.id,
            {
                "id": p.id,
                "org_id": p.organization,
                "sending_application": p.sending_application,
                "sending_facility": p.sending_facility,
                "encoding": p.encoding.value,
                "host": p.host,
                "port": p.port,
                "order_message": p.order_message.value,
            },
        )
    for item in f.lab_items:
        up.row(
            "lab_items",
            LabItem,
            (item.organization, item.code),
            {
                "org_id": item.organization,
                "code": item.code,
                "name": item.name,
                "loinc": item.loinc,
                "loinc_display": item.loinc_display,
                "unit": item.unit,
                "critical_low": item.critical_low,
                "critical_high": item.critical_high,
            },
        )
    for s in f.services:
        up.row(
            "services",
            RemoteService,
            (s.alliance, s.code),
            {
                "alliance_id": s.alliance,
                "code": s.code,
                "name": s.name,
                "name_en": s.name_en,
                "kind": s.kind.value,
                "centre_id": s.centre,
                "performer_roles": [r.value for r in s.performer_roles],
                "turnaround_hours": s.turnaround_hours,
                "fee": s.fee,
                "basis": s.basis.value,
                "matches": s.match.model_dump(),
            },
        )
    for item in f.recognition_items:
        up.row(
            "recognition_items",
            RecognitionItem,
            (item.alliance, item.code),
            {
                "alliance_id": item.alliance, "code": item.code, "name": item.name,
                "name_en": item.name_en, "kind": item.kind.value, "group": item.group,
                "window_days": item.window_days, "scope": item.scope.value, "mark": item.mark,
                "price": item.price, "matches": item.match.model_dump(exclude_defaults=True),
            },
        )  # fmt: skip
    for q in f.qualifications:
        up.row(
            "qualifications",
            Qualification,
            (q.organization, q.group, q.valid_from),
            {"org_id": q.organization, "group": q.group, "valid_from": q.valid_from,
             "valid_until": q.valid_until, "programme": q.programme},
        )  # fmt: skip
    for c in f.api_clients:
        existing = session.get(ApiClient, c.client_id)
        up.row(
            "api_clients",
            ApiClient,
            c.client_id,
            {
                "client_id": c.client_id,
                "name": c.name,
                "org_id": c.organization,
                "scopes": " ".join(c.scopes),
                "secret_hash": _secret_hash(
                    existing.secret_hash if existing else None, c.secret, c.secret_hash
                )
                if c.secret is not None or c.secret_hash is not None
                else None,
                "jwks": c.jwks,
            },
        )
    for u in f.users:
        existing_user = session.get(User, u.username)
        roles = [UserRole(username=u.username, role=r.value) for r in dict.fromkeys(u.roles)]
        up.row(
            "users",
            User,
            u.username,
            {
                "username": u.username,
                "display_name": u.name,
                "org_id": u.organization,
                "practitioner_id": u.practitioner_id,
                "password_hash": _secret_hash(
                    existing_user.password_hash if existing_user else None,
                    u.password,
                    u.password_hash,
                ),
            },
            children=(("roles", roles, "role"),),
        )
    return report
