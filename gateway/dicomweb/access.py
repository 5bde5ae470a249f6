"""What every DICOMweb handler needs before touching data: the requester's scopes checked, the
studies it may see (``storage.policy.study_access``: its organizations' and those shared with
it), a read-only session, and its access record committed by the audit log before the answer
leaves."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from gateway.auth.tokens import Requester
from gateway.errors import Forbidden
from storage.audit import Pending, audit
from storage.platform import Platform
from storage.policy import StudyAccess, study_access

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
    work: Callable[[Session, StudyAccess], tuple[T, str, dict[str, Any]]],
    study: str | None = None,
) -> tuple[T, Pending]:
    """Run ``work(session, studies seen)`` -> ``(result, outcome, audited entities)`` in a
    read-only session and submit the access record: nothing of the result may leave before
    the returned pending record is confirmed (``wait``).  ``study``: the one study the request
    is about (only its share is looked up)."""

    def read(session: Session) -> T:
        access = study_access(session, requester.org_id, study)
        result, outcome, entities = work(session, access)
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

    return platform.audit.read(read)


def answered(
    platform: Platform,
    requester: Requester,
    action: str,
    work: Callable[[Session, StudyAccess], tuple[T, str, dict[str, Any]]],
    study: str | None = None,
) -> T:
    """:func:`audited`, returned once the access record is committed."""
    result, pending = audited(platform, requester, action, work, study)
    pending.wait()
    return result
