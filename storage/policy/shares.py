"""Shares beyond what a resource itself names, kept so that every later version of the
resource keeps them: what a referral shares with the receiver and back (``referral_shares``)
and the prior results offered to an orderer for recognition (``recognition_shares``); a report
shared either way shares its images (:func:`storage.policy.images.with_images`)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import (
    FhirResource,
    FhirResourceGrant,
    RecognitionShare,
    ReferralShare,
    utcnow,
)
from storage.policy.images import with_images


def kept_shares(session: Session, resource_type: str, resource_id: str) -> set[str]:
    """The organizations a referral shared this resource with, or that were offered it for
    recognition (granted again at each new version, whatever the version names)."""
    return {
        org_id
        for share in (ReferralShare, RecognitionShare)
        for org_id in session.scalars(
            select(share.org_id).where(
                share.resource_type == resource_type, share.resource_id == resource_id
            )
        )
    }


def share_for_referral(
    session: Session, referral_id: str, org_id: str, targets: list[tuple[str, str]]
) -> None:
    """Share ``targets`` (``(type, id)`` of current resources) with ``org_id`` for the
    referral: the receiver sees the patient and the documents (a report with its images), the
    referrer the summary."""
    targets = with_images(session, targets)
    for resource_type, resource_id in dict.fromkeys(targets):
        key = (resource_type, resource_id, org_id, referral_id)
        if session.get(ReferralShare, key) is None:
            session.add(ReferralShare(resource_type=resource_type, resource_id=resource_id,
                                      org_id=org_id, referral_id=referral_id))  # fmt: skip
    _grant(session, org_id, targets)


def share_recognizable(session: Session, org_id: str, targets: list[tuple[str, str]]) -> None:
    """Grant ``org_id`` the reading of ``targets`` (``(type, id)``), prior results offered to it
    for recognition: a report with its images, for this and every later version."""
    targets = with_images(session, targets)
    for resource_type, resource_id in dict.fromkeys(targets):
        if session.get(RecognitionShare, (resource_type, resource_id, org_id)) is None:
            session.add(RecognitionShare(resource_type=resource_type, resource_id=resource_id,
                                         org_id=org_id, offered_at=utcnow()))  # fmt: skip
    _grant(session, org_id, targets)


def _grant(session: Session, org_id: str, targets: list[tuple[str, str]]) -> None:
    for resource_type, resource_id in dict.fromkeys(targets):
        grant = (resource_type, resource_id, org_id)
        owner = session.scalar(
            select(FhirResource.owner_org_id).where(
                FhirResource.resource_type == resource_type, FhirResource.id == resource_id
            )
        )
        # Granted even before the resource exists (later in the same transaction Bundle).
        if owner != org_id and session.get(FhirResourceGrant, grant) is None:
            session.add(FhirResourceGrant(resource_type=resource_type, resource_id=resource_id,
                                          org_id=org_id))  # fmt: skip
    session.flush()
