"""What every DIMSE handler needs: the platform, the registry-backed AE, and who is asking."""

from __future__ import annotations

from dataclasses import dataclass

from pynetdicom.events import Event

from dicom_node.registry_ae import RegistryAE
from storage import transaction
from storage.audit import audit_now
from storage.platform import Platform
from storage.policy import visible_orgs


@dataclass(frozen=True, slots=True)
class Requestor:
    ae_title: str
    org_id: str | None


@dataclass
class Node:
    platform: Platform
    ae: RegistryAE

    def requestor(self, event: Event) -> Requestor:
        calling = event.assoc.requestor.ae_title.strip()
        return Requestor(calling, self.ae.organization_of(calling))

    def visible_orgs(self, requestor: Requestor) -> set[str]:
        """Raises ``StorageError`` when the database cannot say."""
        if requestor.org_id is None:
            return set()
        with transaction(self.platform.sessions) as session:
            return visible_orgs(session, requestor.org_id)

    def audit(self, requestor: Requestor, action: str, outcome: str, **entities: object) -> None:
        audit_now(
            self.platform.sessions,
            channel="dicom",
            actor=requestor.ae_title,
            actor_org_id=requestor.org_id,
            action=action,
            outcome=outcome,
            **entities,
        )
