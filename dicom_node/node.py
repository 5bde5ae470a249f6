"""What every DIMSE handler needs: the platform, the registry-backed AE, and who is asking."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from pynetdicom.events import Event
from sqlalchemy.orm import Session

from dicom_node.ingest_pool import IngestPool
from dicom_node.registry_ae import RegistryAE
from storage import transaction
from storage.audit import Pending, audit
from storage.dicom import IngestResult, Sender, ingest_file
from storage.platform import Platform
from storage.policy import StudyAccess, visible_orgs


@dataclass(frozen=True, slots=True)
class Requestor:
    ae_title: str
    org_id: str | None


@dataclass
class Node:
    platform: Platform
    ae: RegistryAE
    ingest_pool: IngestPool | None = None
    _in_flight: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def ingest(self, path: Path, sender: Sender, expected_sop_uid: str | None) -> IngestResult:
        """Parse, store and index one received file.  Alone, in this thread (a hop to another
        process costs more than it saves); while other instances are being ingested, in a
        worker process, so that receiving keeps the interpreter to itself."""
        with self._lock:
            concurrent = self._in_flight > 0
            self._in_flight += 1
        try:
            if concurrent and self.ingest_pool is not None:
                return self.ingest_pool.ingest(path, sender, expected_sop_uid)
            return ingest_file(
                self.platform.sessions, self.platform.blobs, path, sender, expected_sop_uid
            )
        finally:
            with self._lock:
                self._in_flight -= 1

    def requestor(self, event: Event) -> Requestor:
        calling = event.assoc.requestor.ae_title.strip()
        return Requestor(calling, self.ae.organization_of(calling))

    def study_access(self, requestor: Requestor) -> StudyAccess:
        """The studies of the organizations the requestor's organization sees — by organization
        only: studies shared with it are read through DICOMweb, not queried or moved here.
        Raises ``StorageError`` when the database cannot say."""
        if requestor.org_id is None:
            return StudyAccess(frozenset())
        with transaction(self.platform.sessions) as session:
            return StudyAccess(frozenset(visible_orgs(session, requestor.org_id)))

    def audit(self, requestor: Requestor, action: str, outcome: str, **entities: object) -> None:
        """Return once the access record is committed (with those of concurrent requests);
        raises ``StorageError`` when it cannot be."""
        self.record(requestor, action, outcome, **entities).wait()

    def record(
        self, requestor: Requestor, action: str, outcome: str, **entities: object
    ) -> Pending:
        """The access record handed to the audit log: wait for it before answering."""
        return self.platform.audit.record(
            channel="dicom",
            actor=requestor.ae_title,
            actor_org_id=requestor.org_id,
            action=action,
            outcome=outcome,
            **entities,
        )

    def audit_in(
        self,
        session: Session,
        requestor: Requestor,
        action: str,
        outcome: str,
        **entities: object,
    ) -> None:
        """Record in the caller's transaction (with the read or write it records)."""
        audit(
            session,
            channel="dicom",
            actor=requestor.ae_title,
            actor_org_id=requestor.org_id,
            action=action,
            outcome=outcome,
            **entities,
        )
