"""The FHIR write interactions inside a caller's transaction: the checks (type, scope, owner),
the change and its audit record.  The REST handlers run one per transaction; a transaction
Bundle runs all of its entries in one."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy.orm import Session

from fhir_profiles.references import references, relative_target
from fhir_profiles.validation import SUPPORTED_TYPES
from gateway.auth.tokens import Requester
from gateway.errors import (
    Conflict,
    Forbidden,
    Gone,
    MethodNotAllowed,
    NotFound,
    PreconditionFailed,
    Unprocessable,
)
from gateway.fhir.storing import store
from gateway.workflow import booking, referral_intake, referral_writes, referrals, specimens
from gateway.workflow.reading_writes import governed_write
from storage.audit import audit
from storage.fhir import IndexRows, StoredResource, VersionConflict, read_many
from storage.fhir import store as fhir_store
from storage.policy import (
    Viewer,
    fhir_sees,
    fhir_sees_current,
    fhir_viewer,
    known_organizations,
)

# The alliance directory: generated from the registry (gateway.fhir.directory), which alone
# writes it; clients read and search it.
DIRECTORY_TYPES = (
    "Organization", "OrganizationAffiliation", "HealthcareService", "Practitioner",
    "PractitionerRole", "Endpoint",
)  # fmt: skip
# The alliance's remote-service catalogue: generated from the registry (gateway.fhir.catalogue).
CATALOGUE_TYPES = ("ChargeItemDefinition",)
# The server's code systems and value sets, and the recognition catalogue's code systems
# (gateway.fhir.terminology, gateway.fhir.recognition_catalogue).
TERMINOLOGY_TYPES = ("CodeSystem", "ValueSet")
# Directory, catalogue and terminology data the whole alliance shares; everything else belongs
# to the organization that wrote it.
SHARED_TYPES = {*DIRECTORY_TYPES, *CATALOGUE_TYPES, *TERMINOLOGY_TYPES, "Measure"}


# Types the server writes itself (the access log), never clients.
SERVER_RECORDED = {"AuditEvent"}
# The alliance's indicators: defined by the server (gateway.indicators), evaluated on request.
SERVER_DEFINED = {"Measure"}
# Types the server keeps in the FHIR store itself (the charge of each completed remote
# service: gateway.workflow.charges); clients read and search them.
SERVER_WRITTEN = {"ChargeItem"}


# Why a client may only read and search a type the server writes (405 for a write).
READ_ONLY_BECAUSE = {
    **{t: "is recorded by the server" for t in SERVER_RECORDED},
    **{t: "is recorded by the server when a remote service is completed" for t in SERVER_WRITTEN},
    **{t: "is the alliance's indicator set, defined by the server ($evaluate-measure evaluates it)"
       for t in SERVER_DEFINED},
    **{t: "is the alliance directory, written through the registry (the alliance file or the "
          "admin API)" for t in DIRECTORY_TYPES},
    **{t: "is the alliance's remote-service catalogue, written through the alliance file "
          "(services)" for t in CATALOGUE_TYPES},
    **{t: "is the server's terminology and the alliance's recognition catalogue, published by "
          "the server (recognition_items in the alliance file)" for t in TERMINOLOGY_TYPES},
}  # fmt: skip


def authorize(requester: Requester, resource_type: str, letter: str) -> None:
    if resource_type not in SUPPORTED_TYPES:
        raise NotFound(f"resource type {resource_type} is not supported here")
    because = READ_ONLY_BECAUSE.get(resource_type)
    if because is not None and letter in "cud":
        raise MethodNotAllowed(f"{resource_type} {because}; read and search only")
    if not requester.scopes.allows(resource_type, letter):
        raise Forbidden(f"scope {resource_type}.{letter} required")


def _owner_for(requester: Requester, resource_type: str) -> str | None:
    return None if resource_type in SHARED_TYPES else requester.org_id


def _check_owner(current: StoredResource | None, requester: Requester) -> None:
    if current is not None and current.owner_org_id not in (None, requester.org_id):
        raise Forbidden("only the organization that owns this resource may change it")


def viewer_of(session: Session, requester: Requester) -> Viewer:
    """What the requester sees, as the policy decides (once per transaction)."""
    key = ("fhir.viewer", requester.org_id)
    if key not in session.info:
        session.info[key] = fhir_viewer(session, requester.org_id)
    return session.info[key]


def sees(
    session: Session, requester: Requester, stored: StoredResource, *, current: bool = False
) -> bool:
    """Whether the requester's organizations may see the resource (the policy decides);
    ``current``: ``stored`` is its current version, whose owner the policy may go by."""
    viewer = viewer_of(session, requester)
    if current:
        return fhir_sees_current(
            session, viewer, stored.resource_type, stored.id, stored.owner_org_id
        )
    return fhir_sees(session, viewer, stored.resource_type, stored.id)


def check_references(
    session: Session,
    requester: Requester,
    resources: list[dict[str, Any]],
    own: Collection[str] = (),
) -> None:
    """Every relative reference of the resources is well formed and points at a resource the
    requester may see (422 naming each one that does not; nothing is written then).  ``own``:
    the ``Type/id`` of what the requester has just written in this transaction (seen without
    reading it back)."""
    problems: list[tuple[str, str]] = []
    wanted: dict[str, list[str]] = {}
    for resource in resources:
        for expression, reference in references(resource):
            try:
                target = relative_target(reference)
            except ValueError as exc:
                problems.append((expression, str(exc)))
                continue
            if target is not None and target not in own:
                wanted.setdefault(target, []).append(expression)
    if wanted:
        viewer = viewer_of(session, requester)
        found = {f"{r.resource_type}/{r.id}" for r in read_many(session, list(wanted), viewer)}
        found |= {f"Organization/{org}" for org in known_organizations(session, list(wanted))}
        problems += [
            (expression, f"{target} is not known")
            for target, expressions in wanted.items()
            if target not in found
            for expression in expressions
        ]
    if problems:
        raise Unprocessable("invalid reference", problems)


def audit_fhir(
    session: Session,
    requester: Requester,
    action: str,
    resource_type: str,
    outcome: str = "success",
    **entities: Any,
) -> None:
    """The access record of a FHIR interaction (in the caller's transaction)."""
    audit(
        session,
        channel="fhir",
        actor=requester.subject,
        actor_org_id=requester.org_id,
        action=action,
        outcome=outcome,
        resource_type=resource_type,
        **entities,
    )


def read(
    session: Session, requester: Requester, resource_type: str, resource_id: str
) -> StoredResource:
    """The current version, if the requester's organizations may see it (404 otherwise)."""
    authorize(requester, resource_type, "r")
    stored = fhir_store.read(session, resource_type, resource_id)
    if stored is None or not sees(session, requester, stored, current=True):
        raise NotFound(f"{resource_type}/{resource_id} is not known")
    if stored.deleted:
        raise Gone(f"{resource_type}/{resource_id} was deleted")
    audit_fhir(session, requester, "read", resource_type, id=resource_id)
    return stored


def create(
    session: Session,
    requester: Requester,
    resource: dict[str, Any],
    *,
    check: bool = True,
    index: IndexRows | None = None,
) -> StoredResource:
    """Create a resource the caller has just given a fresh id (``check``: its references;
    ``index``: its index rows, if made already)."""
    resource_type = resource["resourceType"]
    authorize(requester, resource_type, "c")
    if resource_type == "Appointment" and booking.governs(session, resource, None):
        checker = _checker(session, requester, check)
        stored = booking.write(session, requester, resource, None, checker)
        audit_fhir(session, requester, "create", resource_type, id=stored.id)
        return stored
    if check:
        check_references(session, requester, [resource])
    owner = _owner_for(requester, resource_type)
    _check_capacity(session, requester, resource, None)
    stored = _governed(session, requester, resource, None)
    if stored is None:
        stored = store(session, resource, owner, new=True, index=index)
    audit_fhir(session, requester, "create", resource_type, id=stored.id)
    return stored


def update(
    session: Session,
    requester: Requester,
    resource: dict[str, Any],
    if_match: int | None = None,
    *,
    check: bool = True,
    index: IndexRows | None = None,
) -> StoredResource:
    """Update, or create under the given id (update-as-create)."""
    resource_type, resource_id = resource["resourceType"], resource["id"]
    authorize(requester, resource_type, "u")
    if resource_type == "Appointment":  # a booking's rules decide who changes what
        current = fhir_store.read(session, resource_type, resource_id)
        if booking.governs(session, resource, current):
            return _booking_update(session, requester, resource, current, if_match, check)
    if check:
        check_references(session, requester, [resource])
    current = fhir_store.read(session, resource_type, resource_id)
    _check_owner(current, requester)
    owner = current.owner_org_id if current else _owner_for(requester, resource_type)
    if if_match is not None and current is not None and current.version_id != if_match:
        at = current.version_id
        raise PreconditionFailed(f"{resource_type}/{resource_id} is at version {at}")
    _check_capacity(session, requester, resource, current)
    stored = _governed(session, requester, resource, current)
    try:
        if stored is None:
            stored = store(session, resource, owner, if_match, index=index)
    except VersionConflict as exc:
        raise PreconditionFailed(str(exc)) from None
    audit_fhir(session, requester, "update", resource_type, id=resource_id)
    return stored


def _booking_update(
    session: Session,
    requester: Requester,
    resource: dict[str, Any],
    current: StoredResource | None,
    if_match: int | None,
    check: bool,
) -> StoredResource:
    resource_id = resource["id"]
    if if_match is not None and current is not None and current.version_id != if_match:
        raise PreconditionFailed(f"Appointment/{resource_id} is at version {current.version_id}")
    stored = booking.write(
        session, requester, resource, current, _checker(session, requester, check)
    )
    audit_fhir(session, requester, "update", "Appointment", id=resource_id)
    return stored


def _checker(session: Session, requester: Requester, check: bool) -> booking.Checker | None:
    if not check:
        return None
    return lambda resource: check_references(session, requester, [resource])


def _check_capacity(
    session: Session, requester: Requester, resource: dict[str, Any], current: StoredResource | None
) -> None:
    """A centre's published capacity (Schedule, Slot) is checked by the booking rules."""
    if resource["resourceType"] in ("Schedule", "Slot"):
        booking.check_capacity(session, requester, resource, current)


def _governed(
    session: Session, requester: Requester, resource: dict[str, Any], current: StoredResource | None
) -> StoredResource | None:
    """A write the workflow rules carry out themselves: a referral (its ServiceRequest,
    :mod:`gateway.workflow.referral_intake`) or its Task (:mod:`~.referral_writes`), a reading
    Task or its report (:mod:`gateway.workflow.reading_writes`)."""
    if resource["resourceType"] == "ServiceRequest":
        return referral_intake.governed_write(session, requester, resource, current)
    if resource["resourceType"] == "Specimen":  # a pathology specimen's number and tracking
        return specimens.governed_write(session, requester, resource, current)
    if resource["resourceType"] not in ("Task", "DiagnosticReport"):
        return None
    if resource["resourceType"] == "Task":
        stored = referral_writes.governed_write(session, requester, resource, current)
        if stored is not None:
            return stored
    return governed_write(session, requester, resource, current)


def delete(
    session: Session, requester: Requester, resource_type: str, resource_id: str
) -> StoredResource | None:
    authorize(requester, resource_type, "d")
    current = fhir_store.read(session, resource_type, resource_id)
    _check_owner(current, requester)
    if resource_type in ("Appointment", "Slot"):
        booking.delete_check(session, resource_type, resource_id, current)
    content = current.content if current is not None else None
    if referrals.is_referral(content) or referrals.is_referral_task(content):
        raise Conflict("a referral is not deleted: the referrer revokes it (status revoked)")
    stored = fhir_store.delete(session, resource_type, resource_id)
    audit_fhir(session, requester, "delete", resource_type, id=resource_id)
    return stored
