"""A pynetdicom AE whose accepted calling AE titles come from the alliance registry.

pynetdicom rejects an association whose calling AE title is not in ``require_calling_aet`` with
result "rejected-permanent", source "service-user", reason 3 "calling AE title not recognised".
Here that list is the registry's, re-read at most every few seconds, so titles added through the
API take effect without a restart.  Its server copies the supported contexts for each
association cheaply (``accepted_contexts``).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from pynetdicom import AE
from pynetdicom.transport import ThreadedAssociationServer
from sqlalchemy.orm import Session, sessionmaker

from dicom_node.accepted_contexts import SharedUIDContexts
from storage import DatabaseUnavailable, transaction
from storage.registry import RegisteredAE, registered_ae_titles

log = logging.getLogger("yilian.dicom")

# pynetdicom accepts everyone when the list is empty; this title cannot be sent (16+ chars).
_NOBODY = "-no-registered-ae-"


class RegistryAE(AE):
    def __init__(self, ae_title: str, sessions: sessionmaker[Session], ttl: float = 5.0) -> None:
        super().__init__(ae_title)
        self._sessions = sessions
        self._ttl = ttl
        self._lock = threading.Lock()
        self._known: dict[str, RegisteredAE] = {}
        self._loaded_at = float("-inf")

    def registered(self) -> dict[str, RegisteredAE]:
        with self._lock:
            if time.monotonic() - self._loaded_at > self._ttl:
                try:
                    with transaction(self._sessions) as session:
                        self._known = registered_ae_titles(session)
                    self._loaded_at = time.monotonic()
                except DatabaseUnavailable:
                    log.warning("registry unavailable; using the last known AE titles")
            return self._known

    def refresh(self) -> None:
        """Forget the cached titles: the next association reads the registry again."""
        with self._lock:
            self._loaded_at = float("-inf")

    def start_server(self, *args: Any, **kwargs: Any) -> ThreadedAssociationServer | None:
        server = super().start_server(*args, **kwargs)
        if server is not None:
            server.contexts = SharedUIDContexts(server.contexts)
        return server

    @property  # type: ignore[override]
    def require_calling_aet(self) -> list[str]:
        return list(self.registered()) or [_NOBODY]

    def organization_of(self, calling_ae: str) -> str | None:
        entry = self.registered().get(calling_ae.strip())
        return entry.org_id if entry else None
