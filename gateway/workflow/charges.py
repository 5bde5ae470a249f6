"""Each completed remote service becomes one ``ChargeItem`` between the requesting member and
the performing one, at the catalogue's fee of the time (五个统一: one fee standard).

A report becoming ``final`` completes the work: whatever wrote it — the reading workflow's
``$verify`` (or the same as a plain write), the lab bridge's results — ``charges.report`` (a
``yilian.fhir_listeners`` entry) brings it to the worker, which in one transaction:

- finds the work: the reading Task the report answers (its centre, the order's modality and
  the requesting organization, from ``reading_milestones``), else a commissioned lab report
  (the lab's organization wrote it for another member's order: one charge per lab service
  whose items it reports, quantity the items);
- finds the catalogue's service (``remote_services``: the centre's services of its kind whose
  ``match`` fits);
- records the charge (:mod:`storage.clinical.charges`: once per order and service) and its
  ``ChargeItem`` (owned by the performing member, seen by the requesting one: the policy's
  :func:`~storage.policy.charge_parties`; written only by the server).

Not charged: an amendment (``amended``/``corrected``: no new final), work of an order revoked or
entered in error (a cancelled Task never gets a final report), work a member did for itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.fhir.catalogue import definition_url, money, service_code
from gateway.fhir.storing import store_valid
from gateway.workflow import reading_report
from gateway.workflow.orders import CLOSED
from storage.clinical import charges, reading_milestones
from storage.db import transaction
from storage.fhir import StoredResource, instant, new_id, read_many
from storage.fhir import store as fhir_store
from storage.models import Centre, RemoteService, ServiceKind
from storage.platform import Platform
from storage.policy import fhir_viewer

CHARGE_IDS = "urn:yilian:charge"


class _FinalReports:
    max_attempts = 10

    def wants(self, resource: dict[str, Any]) -> bool:
        return (
            resource.get("resourceType") == "DiagnosticReport"
            and resource.get("status") == "final"
            and bool(resource.get("basedOn"))
        )


FINAL_REPORTS = _FinalReports()


@dataclass(frozen=True)
class Work:
    """A completed piece of work to charge: which service, how many, between whom."""

    service: RemoteService
    quantity: int
    requesting_org_id: str
    performing_org_id: str


def on_final_report(platform: Platform, payload: dict[str, Any]) -> None:
    """Worker handler for ``charges.report``."""
    with transaction(platform.sessions) as session:
        report = fhir_store.vread(session, "DiagnosticReport", payload["id"], payload["version"])
        if report is None or report.content is None or not FINAL_REPORTS.wants(report.content):
            return
        order = _order(session, report.content)
        if order is None or order.content is None or order.content.get("status") in CLOSED:
            return
        for work in _reading(session, report.content) or _lab(session, report, order):
            if work.requesting_org_id != work.performing_org_id:
                _charge(session, work, report, order)


def _order(session: Session, report: dict[str, Any]) -> StoredResource | None:
    for based_on in report.get("basedOn", []):
        reference = str(based_on.get("reference", ""))
        if reference.startswith("ServiceRequest/"):
            return fhir_store.read(session, "ServiceRequest", reference.split("/", 1)[1])
    return None


def _reading(session: Session, report: dict[str, Any]) -> list[Work]:
    """The reading the report signs off: its centre's service for the exam's modality."""
    task_id = reading_report.task_answered(session, report)
    row = reading_milestones.milestones(session, task_id) if task_id else None
    centre = session.get(Centre, row.centre_id) if row is not None else None
    if row is None or centre is None or row.requester_org_id is None:
        return []
    read = {row.modality} if row.modality else _modalities_read(session, report, centre.org_id)
    services = session.scalars(
        select(RemoteService)
        .where(RemoteService.centre_id == centre.id, RemoteService.kind == centre.kind)
        .order_by(RemoteService.code)
    )
    for service in services:
        modalities = set(service.matches.get("modalities") or [])
        if not modalities or modalities & read:
            return [Work(service, 1, row.requester_org_id, centre.org_id)]
    return []


def _modalities_read(session: Session, report: dict[str, Any], org_id: str) -> set[str]:
    """The modalities of the studies a report reads (when the order did not say one)."""
    studies = [str(s.get("reference", "")) for s in report.get("imagingStudy", [])]
    return {
        str(coding.get("code"))
        for study in read_many(session, studies, fhir_viewer(session, org_id))
        for coding in (study.content or {}).get("modality", [])
    }


def _lab(session: Session, report: StoredResource, order: StoredResource) -> list[Work]:
    """A commissioned lab report: per lab service of the reporting lab, the items reported."""
    if report.owner_org_id is None or order.owner_org_id is None:
        return []
    services = list(
        session.scalars(
            select(RemoteService)
            .join(Centre, Centre.id == RemoteService.centre_id)
            .where(RemoteService.kind == ServiceKind.LAB.value)
            .where(Centre.org_id == report.owner_org_id)
        )
    )
    if not services:
        return []
    results = [str(r.get("reference", "")) for r in (report.content or {}).get("result", [])]
    observations = [r for r in results if r.startswith("Observation/")]
    lab = fhir_viewer(session, report.owner_org_id)
    codes = [  # each result's first coding: the lab's own item code
        coding.get("code")
        for observation in read_many(session, observations, lab)
        for coding in ((observation.content or {}).get("code") or {}).get("coding", [])[:1]
    ]
    work = []
    for service in services:
        items = sum(1 for code in codes if code in service.matches.get("lab_codes", []))
        if items:
            work.append(Work(service, items, order.owner_org_id, report.owner_org_id))
    return work


def _charge(session: Session, work: Work, report: StoredResource, order: StoredResource) -> None:
    service = work.service
    source = f"ServiceRequest/{order.id}"
    occurred = (_issued(report.content or {}) or report.last_updated).astimezone(UTC)
    charge = charges.NewCharge(
        id=new_id(), source=source, alliance_id=service.alliance_id, service_code=service.code,
        service_name=service.name, basis=service.basis,
        requesting_org_id=work.requesting_org_id, performing_org_id=work.performing_org_id,
        occurred_at=occurred, quantity=work.quantity, unit_fee=service.fee,
    )  # fmt: skip
    if not charges.record(session, charge):
        return  # charged already
    item = {
        "resourceType": "ChargeItem", "id": charge.id,
        "identifier": [{"system": CHARGE_IDS, "value": f"{order.id}.{service.code}"}],
        "definitionCanonical": [definition_url(service.alliance_id, service.code)],
        "status": "billable",
        "code": service_code(service.code, service.name),
        "subject": (report.content or {}).get("subject") or order.content["subject"],
        "occurrenceDateTime": instant(occurred),
        "performingOrganization": {"reference": f"Organization/{work.performing_org_id}"},
        "requestingOrganization": {"reference": f"Organization/{work.requesting_org_id}"},
        "quantity": {"value": work.quantity},
        "priceOverride": money(service.fee),
        "enteredDate": instant(datetime.now(UTC)),
        "service": [{"reference": f"DiagnosticReport/{report.id}"}],
        "supportingInformation": [{"reference": source}],
    }  # fmt: skip
    store_valid(session, item, work.performing_org_id)


def _issued(report: dict[str, Any]) -> datetime | None:
    text = report.get("issued")
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
