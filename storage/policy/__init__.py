"""Who may see what: the one place that decides which organizations' data a requester sees.

An organization sees its own data, and an organization that runs shared centres (the lead
hospital) sees the data of every member its centres serve: that is what reading remotely
("基层检查、上级诊断") needs.  Every query of patient data goes through :func:`visible_orgs`.

FHIR resources are also seen by the organizations they involve (:func:`sharing`, kept as
grants when the resource is written): an order by the organization it is placed with, a task
by its owner and requester, a communication by its recipient, and a result, report or task
that answers an order (``basedOn``/``focus``) by whoever may see that order, so a clinic
reads the report the lead hospital wrote for its request.  A patient's active Consent that
denies an organization (``provision.type = deny``, the organization an actor) hides from it
that patient and the data about them (``patient``/``subject``) which it does not own itself.
A charge (``ChargeItem``) is seen by the two members it is between — the requesting and the
performing organization — and by nobody else (:func:`charge_parties`; the settlement's lines
likewise, :func:`settles`).  A centre's bookable capacity (``Schedule`` naming it as actor,
its ``Slot``s) is seen by the members the centre serves, and an ``Appointment`` by the
organization of the centre it is with; :func:`booking_refusal` says who books which slots
(预约检查).  A referral (双向转诊) shares its patient and the documents going with it with
the receiving organization, and the summary sent back with the referrer
(:func:`share_for_referral`; kept in ``referral_shares``, so every later version of those
resources keeps the grant: :func:`kept_shares`).  Mutual recognition (区域互认) looks for a
patient's recognisable results across the members of the orderer's alliances
(:func:`recognition_viewer`, Consent denials kept) and shares each one offered with the
orderer, so that 调阅报告 opens it (:func:`share_recognizable`; kept in ``recognition_shares``
for its later versions likewise).  A report shared either way
shares its images too (its ``imagingStudy``): stored studies are seen by organization and by the
ImagingStudies granted (:func:`study_access`, :mod:`storage.policy.images`).
:func:`fhir_visible` (SQL) and :func:`fhir_sees` apply this for a :class:`Viewer`.

The answer is remembered per database for :data:`CACHE_SECONDS` (every DICOMweb frame asks);
a change of the alliance's centres applies to new requests within that time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, literal, not_, or_, select
from sqlalchemy.orm import Session

from storage.db import execute_plain
from storage.models import (
    AllianceMember,
    Centre,
    CentreServed,
    FhirReferenceIndex,
    FhirResource,
    FhirResourceGrant,
    Organization,
    Role,
)
from storage.policy.administration import Administration, administration, reviews_patient_links
from storage.policy.booking import booking_refusal, runs_centre
from storage.policy.images import StudyAccess, shared_studies
from storage.policy.shares import kept_shares, share_for_referral, share_recognizable

__all__ = [
    "Administration", "StudyAccess", "Viewer", "administration", "booking_refusal",
    "charge_parties", "fhir_sees", "fhir_sees_current", "fhir_viewer", "fhir_visible",
    "fhir_visible_bound", "kept_shares", "known_organizations", "recognition_viewer",
    "remember_order", "reviews_patient_links", "runs_centre", "settlement_refusal", "settles",
    "share_for_referral", "share_recognizable", "sharing", "study_access", "viewer_params",
    "visible_orgs",
]  # fmt: skip

CACHE_SECONDS = 10.0
_cache: dict[tuple[int, str], tuple[float, frozenset[str]]] = {}
_lock = threading.Lock()


def visible_orgs(session: Session, org_id: str) -> set[str]:
    key = (id(session.get_bind()), org_id)
    now = time.monotonic()
    with _lock:
        cached = _cache.get(key)
    if cached is not None and now - cached[0] < CACHE_SECONDS:
        return set(cached[1])
    served = session.scalars(
        select(CentreServed.org_id)
        .join(Centre, Centre.id == CentreServed.centre_id)
        .where(Centre.org_id == org_id)
    )
    orgs = frozenset({org_id, *served})
    with _lock:
        _cache[key] = (now, orgs)
    return set(orgs)


def study_access(session: Session, org_id: str, study_uid: str | None = None) -> StudyAccess:
    """The stored studies ``org_id`` sees (DICOMweb): its visible organizations' and those whose
    ImagingStudy is shared with one of them (not cached: a share applies at once).
    ``study_uid``: a request about that one study needs only its share looked up."""
    orgs = visible_orgs(session, org_id)
    return StudyAccess(frozenset(orgs), shared_studies(session, orgs, study_uid))


# Elements naming the organizations an order, task or message is placed with or comes from.
_PARTIES = ("performer", "owner", "requester", "recipient")
# Elements linking a result, report or task to the order it answers.
_ANSWERS = ("basedOn", "focus")
_ORDERS = "policy.orders"  # session.info: order id -> organizations that see it


def _references(value: Any) -> Iterator[str]:
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, dict) and isinstance(item.get("reference"), str):
            yield item["reference"]


def sharing(session: Session, resource: dict[str, Any]) -> set[str]:
    """The organizations besides the owner that may see ``resource``."""
    orgs = {
        reference.removeprefix("Organization/")
        for key in _PARTIES
        for reference in _references(resource.get(key))
        if reference.startswith("Organization/")
    }
    orders = [
        reference.removeprefix("ServiceRequest/")
        for key in _ANSWERS
        for reference in _references(resource.get(key))
        if reference.startswith("ServiceRequest/")
    ]
    orgs |= _bookable_by(session, resource)
    orgs |= charge_parties(resource)
    remembered: dict[str, set[str]] = session.info.get(_ORDERS, {})
    for order in orders:
        orgs.update(remembered.get(order, ()))
    orders = [order for order in orders if order not in remembered]
    if orders:
        orgs.update(
            owner
            for owner in session.scalars(
                select(FhirResource.owner_org_id).where(
                    FhirResource.resource_type == "ServiceRequest", FhirResource.id.in_(orders)
                )
            )
            if owner is not None
        )
        orgs.update(
            session.scalars(
                select(FhirResourceGrant.org_id).where(
                    FhirResourceGrant.resource_type == "ServiceRequest",
                    FhirResourceGrant.resource_id.in_(orders),
                )
            )
        )
    return orgs


def charge_parties(resource: dict[str, Any]) -> set[str]:
    """The members a ``ChargeItem`` is between (requesting and performing organization)."""
    if resource.get("resourceType") != "ChargeItem":
        return set()
    return {
        reference.removeprefix("Organization/")
        for key in ("requestingOrganization", "performingOrganization")
        for reference in _references(resource.get(key))
        if reference.startswith("Organization/")
    }


def settles(org_id: str, requesting: Any, performing: Any) -> ColumnElement[bool]:
    """The SQL condition: a charge (its ``requesting``/``performing`` organization columns) is
    on ``org_id``'s settlement — it is one of the pair.  A lead hospital does not see its
    members' charges with each other."""
    return or_(requesting == org_id, performing == org_id)


# People who read their organization's settlement (结算); its systems read it by their scope.
SETTLING_ROLES = frozenset({Role.ADMIN.value, Role.HEAD.value})


def settlement_refusal(person: bool, roles: tuple[str, ...]) -> str | None:
    """Why the requester may not read its organization's settlement (None: it may): of its
    people, administrators and heads (负责人) do; readers and clinicians do not."""
    if person and not SETTLING_ROLES & set(roles):
        return "the settlement is read by the organization's administrators and heads"
    return None


def _centres_named(value: Any) -> list[str]:
    return [
        reference.removeprefix("HealthcareService/")
        for reference in _references(value)
        if reference.startswith("HealthcareService/")
    ]


def _bookable_by(session: Session, resource: dict[str, Any]) -> set[str]:
    """Who sees a centre's Schedule (the members it serves), its Slots (whoever sees their
    Schedule) and an Appointment with the centre (the centre's organization)."""
    kind = resource.get("resourceType")
    if kind == "Schedule":
        centres = _centres_named(resource.get("actor"))
        if not centres:
            return set()
        served = select(CentreServed.org_id).where(CentreServed.centre_id.in_(centres))
        own = select(Centre.org_id).where(Centre.id.in_(centres))
        return set(session.scalars(served.union(own)))
    if kind == "Slot":
        schedules = [
            reference.removeprefix("Schedule/")
            for reference in _references(resource.get("schedule"))
            if reference.startswith("Schedule/")
        ]
        grants = select(FhirResourceGrant.org_id).where(
            FhirResourceGrant.resource_type == "Schedule",
            FhirResourceGrant.resource_id.in_(schedules),
        )
        return set(session.scalars(grants))
    if kind == "Appointment":
        actors = [p.get("actor") for p in resource.get("participant", []) if isinstance(p, dict)]
        centres = _centres_named(actors)
        return set(session.scalars(select(Centre.org_id).where(Centre.id.in_(centres))))
    return set()


def recognition_viewer(session: Session, org_id: str) -> Viewer:
    """Whose results a member may look through for recognisable priors: every member of the
    alliances it belongs to, less the patients whose Consent denies it."""
    members = session.scalars(
        select(AllianceMember.org_id).where(
            AllianceMember.alliance_id.in_(
                select(AllianceMember.alliance_id).where(AllianceMember.org_id == org_id)
            )
        )
    )
    return Viewer(org_id, frozenset({org_id, *members}), _denied_patients(session, org_id))


@dataclass(frozen=True, slots=True)
class Viewer:
    """Whose eyes a FHIR request has: the organization, every organization whose data it sees,
    and the patients (``Patient/id``) whose Consent denies it their data held by others."""

    org_id: str
    orgs: frozenset[str]
    denied_patients: frozenset[str] = frozenset()


def fhir_viewer(session: Session, org_id: str) -> Viewer:
    return Viewer(
        org_id, frozenset(visible_orgs(session, org_id)), _denied_patients(session, org_id)
    )


# The Consents naming an organization as an actor (built once: every FHIR read asks).
_NAMING_CONSENTS = select(FhirResource.content).where(
    FhirResource.resource_type == "Consent",
    FhirResource.deleted.is_(False),
    FhirResource.id.in_(
        FhirReferenceIndex.ids("Consent", "actor", FhirReferenceIndex.target == bindparam("actor"))
    ),
)


def _denied_patients(session: Session, org_id: str) -> frozenset[str]:
    """Patients with an active Consent whose provision denies ``org_id`` (as an actor)."""
    actor = {"actor": f"Organization/{org_id}"}
    consents = execute_plain(session, _NAMING_CONSENTS, actor).scalars()
    denied = set()
    for consent in consents:
        provision = consent.get("provision", {})
        actors = {a.get("reference", {}).get("reference") for a in provision.get("actor", [])}
        if (
            consent.get("status") == "active"
            and provision.get("type") == "deny"
            and f"Organization/{org_id}" in actors
        ):
            denied.add(consent.get("patient", {}).get("reference"))
    return frozenset(d for d in denied if isinstance(d, str) and d.startswith("Patient/"))


def remember_order(session: Session, order_id: str, orgs: set[str]) -> None:
    """Who sees a ServiceRequest just written in this session, so that what answers it in the
    same transaction (a Bundle) is shared without a query."""
    session.info.setdefault(_ORDERS, {})[order_id] = orgs


def fhir_visible(viewer: Viewer, table: Any = FhirResource) -> ColumnElement[bool]:
    """The SQL condition: a row of ``table`` (resources or their versions) ``viewer`` sees."""
    return _visible(table, viewer.orgs, viewer.org_id, viewer.denied_patients or None)


def fhir_visible_bound(table: Any, *, denied: bool) -> ColumnElement[bool]:
    """:func:`fhir_visible` with the viewer given when the statement runs
    (:func:`viewer_params`), for statements built once; ``denied``: whether the viewer has
    patients denied to it (the condition's shape)."""
    return _visible(
        table,
        bindparam("viewer_orgs", expanding=True),
        bindparam("viewer_org"),
        bindparam("viewer_denied", expanding=True) if denied else None,
    )


def viewer_params(viewer: Viewer) -> dict[str, Any]:
    """The parameters of :func:`fhir_visible_bound` for ``viewer``."""
    params: dict[str, Any] = {"viewer_orgs": sorted(viewer.orgs), "viewer_org": viewer.org_id}
    if viewer.denied_patients:
        params["viewer_denied"] = sorted(viewer.denied_patients)
    return params


def _visible(table: Any, orgs: Any, org_id: Any, denied: Any) -> ColumnElement[bool]:
    """``orgs``, ``org_id`` and ``denied`` (None: no patient is denied) as values or as
    parameters bound later."""
    granted = (
        select(FhirResourceGrant.org_id)
        .where(
            FhirResourceGrant.resource_type == table.resource_type,
            FhirResourceGrant.resource_id == table.id,
            FhirResourceGrant.org_id.in_(orgs),
        )
        .exists()
    )
    condition = or_(table.owner_org_id.is_(None), table.owner_org_id.in_(orgs), granted)
    if denied is None:
        return condition
    about_denied = or_(
        and_(
            table.resource_type == "Patient",
            (literal("Patient/") + table.id).in_(denied),
        ),
        select(FhirReferenceIndex.id)
        .where(
            FhirReferenceIndex.resource_type == table.resource_type,
            FhirReferenceIndex.resource_id == table.id,
            FhirReferenceIndex.param.in_(("patient", "subject")),
            FhirReferenceIndex.target.in_(denied),
        )
        .exists(),
    )
    own = and_(table.owner_org_id.is_not(None), table.owner_org_id == org_id)
    return and_(condition, or_(own, not_(about_denied)))


def fhir_sees(session: Session, viewer: Viewer, resource_type: str, resource_id: str) -> bool:
    """Whether ``viewer`` sees the current resource (the same rule as :func:`fhir_visible`)."""
    return (
        session.scalar(
            select(FhirResource.id).where(
                FhirResource.resource_type == resource_type,
                FhirResource.id == resource_id,
                fhir_visible(viewer),
            )
        )
        is not None
    )


def fhir_sees_current(
    session: Session, viewer: Viewer, resource_type: str, resource_id: str, owner: str | None
) -> bool:
    """:func:`fhir_sees` for a resource whose current version the caller has just read (its
    ``owner``): without a query when the owner alone decides — shared, or owned by an
    organization the viewer sees, while no Consent denies the viewer anyone's data."""
    if not viewer.denied_patients and (owner is None or owner in viewer.orgs):
        return True
    return fhir_sees(session, viewer, resource_type, resource_id)


def known_organizations(session: Session, targets: list[str]) -> set[str]:
    """The alliance's organizations (the registry's ids) among ``Organization/id`` targets:
    FHIR resources may name them without an Organization resource being posted."""
    ids = [t.removeprefix("Organization/") for t in targets if t.startswith("Organization/")]
    if not ids:
        return set()
    return set(session.scalars(select(Organization.id).where(Organization.id.in_(ids))))
