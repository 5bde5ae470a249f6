"""What every DICOMweb handler needs before touching data: the requester's scopes checked, the
organizations it may see (``storage.policy``), and an audit record in the same transaction."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from gateway.auth.tokens import Requester
from gateway.errors import Forbidden, ServiceUnavailable
from storage.audit import audit
from storage.db import transaction
from storage.errors import StorageError
from storage.platform import Platform
from storage.policy import visible_orgs

# DICOMweb serves imaging studies: SMART scopes on ImagingStudy decide (r/s read, c store).
RESOURCE = "ImagingStudy"
CHANNEL = "dicomweb"

T = TypeVar("T")


def require(requester: Requester, action: str) -> None:
    if not requester.scopes.allows(RESOURCE, action):
        raise Forbidden(f"scope {RESOURCE}.{action} required")


def audited(
    platform: Platform,
    requester: Requester,
    action: str,
    work: Callable[[Session, set[str]], tuple[T, str, dict[str, Any]]],
) -> T:
    """Run ``work(session, visible orgs)`` -> ``(result, outcome, audited entities)`` and record
    the access in the same transaction (so no data leaves without its audit record).  A read's
    record survives a crash of the process; only a machine crash in the same moment loses it
    (``relaxed`` commit: no disk flush on the request's path)."""
    try:
        with transaction(platform.sessions, relaxed=True) as session:
            result, outcome, entities = work(session, visible_orgs(session, requester.org_id))
            audit(
                session,
                channel=CHANNEL,
                actor=requester.subject,
                actor_org_id=requester.org_id,
                action=action,
                outcome=outcome,
                **entities,
            )
            return result
    except StorageError as exc:
        raise ServiceUnavailable("storage unavailable, try again later") from exc
