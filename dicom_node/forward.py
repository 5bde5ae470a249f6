"""Forward stable studies to registered peers (C-STORE SCU), by the alliance's routes.

Outbox handler for ``study.stable``.  Each delivered instance is recorded, so a retry (the
outbox's backoff after a failure) or a later batch of the same study sends only the rest.
"""

from __future__ import annotations

import logging
from typing import Any

from pynetdicom import AE
from sqlalchemy import select
from sqlalchemy.orm import Session

from dicom_node import transport
from dicom_node.instances import contexts_for, outgoing
from storage import transaction
from storage.audit import audit
from storage.dicom import StoredInstance
from storage.models import AETitle, DicomDelivery, DicomInstance, DicomRoute, DicomSeries
from storage.platform import Platform

log = logging.getLogger("yilian.dicom")

DELIVERED = (0x0000, 0xB000, 0xB006, 0xB007)  # success, or stored with a warning


def _routes(session: Session, payload: dict[str, Any]) -> list[DicomRoute]:
    modalities = {m for m in payload.get("modalities", "").split("\\") if m}
    matching = []
    for route in session.scalars(select(DicomRoute).order_by(DicomRoute.id)):
        if route.source_org_id not in (None, payload["org_id"]):
            continue
        wanted = {m for m in route.modalities.split("\\") if m}
        if wanted and not wanted & modalities:
            continue
        matching.append(route)
    return matching


def _undelivered(session: Session, study_uid: str, destination: str) -> list[StoredInstance]:
    delivered = select(DicomDelivery.sop_instance_uid).where(
        DicomDelivery.destination_ae == destination,
        DicomDelivery.sha256 == DicomInstance.sha256,
    )
    rows = session.execute(
        select(
            DicomInstance.sop_instance_uid,
            DicomInstance.sop_class_uid,
            DicomInstance.transfer_syntax_uid,
            DicomInstance.object_key,
            DicomSeries.study_uid,
        )
        .join(DicomSeries, DicomSeries.series_uid == DicomInstance.series_uid)
        .where(DicomSeries.study_uid == study_uid)
        .where(DicomInstance.sop_instance_uid.not_in(delivered))
        .order_by(DicomInstance.series_uid, DicomInstance.instance_number)
    )
    return [StoredInstance(*row) for row in rows]


def forward_stable_study(platform: Platform, payload: dict[str, Any]) -> None:
    """Raises when any instance could not be delivered: the outbox retries later."""
    with transaction(platform.sessions) as session:
        plans = []
        for route in _routes(session, payload):
            peer = session.get(AETitle, route.destination_ae)
            if peer is None or not peer.host or not peer.port:
                raise LookupError(f"route {route.id}: destination has no host/port")
            pending = _undelivered(session, payload["study_uid"], peer.ae_title)
            if pending:
                plans.append((peer.ae_title, peer.host, peer.port, pending))
    failures = 0
    for ae_title, host, port, pending in plans:
        failures += _send(platform, ae_title, host, port, pending)
    if failures:
        raise ConnectionError(f"{failures} instance(s) not delivered; will retry")


def _send(
    platform: Platform, ae_title: str, host: str, port: int, pending: list[StoredInstance]
) -> int:
    ae = AE(platform.settings.ae_title)
    assoc = ae.associate(
        host,
        port,
        contexts=contexts_for(pending),
        ae_title=ae_title,
        evt_handlers=transport.HANDLERS,
    )
    if not assoc.is_established:
        log.warning("forwarding peer unreachable", extra={"destination": ae_title})
        return len(pending)
    delivered: list[DicomDelivery] = []
    try:
        for instance in pending:
            try:
                with outgoing(platform.blobs, instance, assoc.accepted_contexts) as sendable:
                    status = assoc.send_c_store(sendable)
            except (ValueError, AttributeError, RuntimeError):
                continue  # not sendable on this association: counted below
            if status is not None and status.get("Status") in DELIVERED:
                delivered.append(
                    DicomDelivery(
                        destination_ae=ae_title, sop_instance_uid=instance.sop_instance_uid
                    )
                )
            if not assoc.is_established:
                break
    finally:
        if assoc.is_established:
            assoc.release()
        _record(platform, ae_title, delivered)
    log.info(
        "study forwarded",
        extra={
            "destination": ae_title,
            "sent": len(delivered),
            "failed": len(pending) - len(delivered),
        },
    )
    return len(pending) - len(delivered)


def _record(platform: Platform, ae_title: str, delivered: list[DicomDelivery]) -> None:
    if not delivered:
        return
    with transaction(platform.sessions) as session:
        for delivery in delivered:
            stored = session.get(DicomInstance, delivery.sop_instance_uid)
            if stored is not None:
                delivery.sha256 = stored.sha256
                session.merge(delivery)
        audit(
            session,
            channel="dicom",
            actor=platform.settings.ae_title,
            actor_org_id=None,
            action="FORWARD",
            outcome="success",
            destination=ae_title,
            instances=[d.sop_instance_uid for d in delivered],
        )
