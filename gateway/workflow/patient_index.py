"""Every member's Patient in the patient index (MPI), linked to its person as it is written.

A Patient write (any service: the FHIR API, the lab bridge's registrations) → ``mpi.link`` (a
``yilian.fhir_listeners`` entry) → the worker indexes the Patient's current version and links
it (:func:`storage.clinical.patient_matches.link`: idempotent, so a repeated or late event
changes nothing; a Patient deleted since leaves the index), in the worker's transaction (with the
event's completion) with the audit records of the links it made.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from storage.clinical import patient_matches
from storage.fhir import store as fhir_store
from storage.platform import Platform
from storage.worker import InBatch


class _Patients:
    max_attempts = 10

    def wants(self, resource: dict[str, Any]) -> bool:
        return resource.get("resourceType") == "Patient"


PATIENTS = _Patients()


def _index(_platform: Platform, session: Session, payload: dict[str, Any]) -> None:
    stored = fhir_store.read(session, "Patient", payload["id"])
    if stored is None or stored.deleted or stored.content is None:
        patient_matches.forget(session, payload["id"])
        return
    patient_matches.link(session, stored.id, stored.owner_org_id, stored.content)


# ``mpi.link``: the links are written in the event's completing transaction.
on_patient = InBatch(_index)
