"""Patients' links to their signed reports (云胶片): a random token in a URL — 256 bits, never
stored (only its SHA-256) — valid until it expires or is revoked."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import PatientLink


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def give(
    session: Session, report_id: str, org_id: str, by: str, days: int
) -> tuple[PatientLink, str]:
    """A new link and its token (shown once)."""
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    link = PatientLink(
        id=secrets.token_hex(8), token_hash=_hash(token), report_id=report_id, org_id=org_id,
        created_by=by, created_at=now, expires_at=now + timedelta(days=days),
    )  # fmt: skip
    session.add(link)
    session.flush()
    return link, token


def opened(session: Session, token: str) -> tuple[PatientLink | None, str]:
    """The link of ``token`` and whether it may be opened now: ``open``, ``expired``,
    ``revoked`` or ``unknown``."""
    link = session.scalar(select(PatientLink).where(PatientLink.token_hash == _hash(token)))
    if link is None:
        return None, "unknown"
    if link.revoked_at is not None:
        return link, "revoked"
    if link.expires_at <= datetime.now(UTC):
        return link, "expired"
    return link, "open"


def revoke(session: Session, link_id: str, report_id: str) -> PatientLink | None:
    link = session.get(PatientLink, link_id)
    if link is None or link.report_id != report_id:
        return None
    if link.revoked_at is None:
        link.revoked_at = datetime.now(UTC)
        session.flush()
    return link
