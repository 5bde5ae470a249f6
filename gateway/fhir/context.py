"""What every FHIR route shares: the platform, the validator, and the two ways a route reaches
storage — an audited read that answers only what the requester may see (read-only, answered
after the audit log commits its record), and a write in one transaction.  Storage that cannot
be reached, the audit log included, raises :class:`storage.StorageError`: the app's handler
answers 503 (the client tries again), never a 500."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from gateway.auth.tokens import Requester
from gateway.errors import Gone, NotFound
from gateway.fhir import interactions
from gateway.fhir.validator import Validator
from storage.db import transaction
from storage.fhir import StoredResource
from storage.fhir import store as fhir_store
from storage.platform import Platform

T = TypeVar("T")


@dataclass(frozen=True)
class Fhir:
    platform: Platform
    validation: Validator

    @property
    def checked(self) -> bool:
        """Whether writes check that their references resolve."""
        return self.platform.settings.fhir_check_references

    def run(self, work: Callable[[Session], T]) -> T:
        """``work`` in one write transaction (storage errors propagate as they are)."""
        with transaction(self.platform.sessions) as session:
            return work(session)

    def read_now(self, work: Callable[[Session], T]) -> T:
        """``work`` in a read-only session, returned once the access records it made are
        committed (for code already off the event loop; storage errors propagate)."""
        result, pending = self.platform.audit.read(work)
        pending.wait()
        return result

    async def write(self, work: Callable[[Session], T]) -> T:
        """``work`` in one write transaction, off the event loop."""
        return await run_in_threadpool(self.run, work)

    async def access(
        self,
        requester: Requester,
        resource_type: str,
        action: str,
        find: Callable[[Session], Any],
        *,
        current: bool = False,
        by_key: bool = False,
        **entities: Any,
    ) -> Any:
        """What ``find`` returns when the requester may see all of it, else None; the access is
        audited either way (``not_found`` when nothing visible was found).  ``current``: what
        ``find`` returns are current versions; ``by_key``: ``find`` reads one resource (or
        version) by its key (:meth:`read_only`)."""
        interactions.authorize(requester, resource_type, "r")

        def work(session: Session) -> Any:
            found = find(session)
            items = found if isinstance(found, list) else [found] if found else []
            # Versions of one resource: the policy is asked once per resource.
            distinct = {(s.resource_type, s.id): s for s in items}.values()
            visible = bool(items) and all(
                interactions.sees(session, requester, s, current=current) for s in distinct
            )
            outcome = "success" if visible else "not_found"
            interactions.audit_fhir(session, requester, action, resource_type, outcome, **entities)
            return found if visible else None

        return await self.read_only(work, by_key=by_key)

    async def found(
        self,
        requester: Requester,
        resource_type: str,
        action: str,
        find: Callable[[Session], StoredResource | None],
        *,
        missing: str,
        deleted: str,
        current: bool = False,
        **entities: Any,
    ) -> StoredResource:
        """:meth:`access` for one resource (or version) by its key: 404 ``missing`` when there
        is none the requester may see, 410 ``deleted`` when it is a deletion."""
        stored = await self.access(
            requester, resource_type, action, find, current=current, by_key=True, **entities
        )
        if stored is None:
            raise NotFound(missing)
        if stored.deleted:
            raise Gone(deleted)
        return stored

    async def current(
        self, requester: Requester, resource_type: str, resource_id: str, action: str
    ) -> StoredResource:
        """The current version of a resource the requester may see (404, or 410 if deleted)."""
        return await self.found(
            requester,
            resource_type,
            action,
            lambda s: fhir_store.read(s, resource_type, resource_id),
            missing=f"{resource_type}/{resource_id} is not known",
            deleted=f"{resource_type}/{resource_id} was deleted",
            current=True,
            id=resource_id,
        )

    async def read_only(self, work: Callable[[Session], T], *, by_key: bool = False) -> T:
        """``work`` in a read-only session, off the event loop — unless it reads by key and the
        platform reads such rows in place (:attr:`Platform.reads_in_place`); what it returns is
        answered only once the access records it made are committed by the audit log (else
        503)."""
        if by_key and self.platform.reads_in_place:
            result, pending = self.platform.audit.read(work)
        else:
            result, pending = await run_in_threadpool(self.platform.audit.read, work)
        await pending
        return result
