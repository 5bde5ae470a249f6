"""Modality Performed Procedure Steps (MPPS) and the FHIR ``Procedure`` each one keeps.

A step is created IN PROGRESS and may be set COMPLETED or DISCONTINUED once: both are final
(PS3.4 F.7.2), and after them nothing changes.  The step's row and its Procedure are written in
the caller's transaction, so neither exists without the other.  The Procedure is validated by
the caller (the services validate with ``fhir_profiles``); its index rows come with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.fhir import store as fhir_store
from storage.fhir.store import IndexRows, StoredResource
from storage.models import PerformedStep, utcnow

IN_PROGRESS = "IN PROGRESS"
COMPLETED = "COMPLETED"
DISCONTINUED = "DISCONTINUED"
FINAL = (COMPLETED, DISCONTINUED)


class DuplicateStep(Exception):
    """A step with this SOP Instance UID exists already."""


class FinalStep(Exception):
    """The step is COMPLETED or DISCONTINUED: it may not change any more."""


@dataclass(frozen=True, slots=True)
class Step:
    sop_instance_uid: str
    org_id: str
    status: str
    procedure: StoredResource


def performed_step(session: Session, sop_instance_uid: str) -> Step | None:
    row = session.get(PerformedStep, sop_instance_uid)
    if row is None:
        return None
    procedure = fhir_store.read(session, "Procedure", row.procedure_id)
    if procedure is None:
        return None
    return Step(row.sop_instance_uid, row.org_id, row.status, procedure)


def start_step(
    session: Session,
    sop_instance_uid: str,
    org_id: str,
    ae_title: str,
    procedure: dict[str, Any],
    index: IndexRows,
) -> StoredResource:
    """Keep a new IN PROGRESS step and its Procedure (``procedure`` has a fresh id)."""
    if session.get(PerformedStep, sop_instance_uid) is not None:
        raise DuplicateStep(sop_instance_uid)
    try:
        with session.begin_nested():
            session.add(
                PerformedStep(
                    sop_instance_uid=sop_instance_uid,
                    org_id=org_id,
                    ae_title=ae_title,
                    status=IN_PROGRESS,
                    procedure_id=procedure["id"],
                )
            )
    except IntegrityError as exc:  # created by another association meanwhile
        raise DuplicateStep(sop_instance_uid) from exc
    return fhir_store.put(session, procedure, org_id, index=index, new=True)


def set_step(
    session: Session, step: Step, status: str, procedure: dict[str, Any], index: IndexRows
) -> StoredResource:
    """The step's new state and its Procedure's next version; :class:`FinalStep` when it was
    final already, ``VersionConflict`` when another association changed it meanwhile."""
    row = session.get(PerformedStep, step.sop_instance_uid)
    if row is None or row.status in FINAL:
        raise FinalStep(step.sop_instance_uid)
    row.status, row.updated_at = status, utcnow()
    return fhir_store.put(
        session, procedure, step.org_id, index=index, if_match=step.procedure.version_id
    )
