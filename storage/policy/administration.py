"""What an administrator manages."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Alliance, Role


@dataclass(frozen=True)
class Administration:
    """What an administrator manages: the alliances its organization leads (their members and
    centres) and the organizations whose AE titles, peers, clients and people it keeps."""

    org_id: str
    alliances: frozenset[str]
    orgs: frozenset[str]


def administration(session: Session, org_id: str, roles: tuple[str, ...]) -> Administration | None:
    """None unless the person has the ``admin`` role.  An administrator of a lead hospital
    manages the alliances it leads and all their members; any other, its own organization."""
    if Role.ADMIN.value not in roles:
        return None
    led = session.scalars(select(Alliance).where(Alliance.lead_org_id == org_id)).all()
    members = {m.org_id for alliance in led for m in alliance.members}
    return Administration(org_id, frozenset(a.id for a in led), frozenset({org_id, *members}))


def reviews_patient_links(session: Session, org_id: str, roles: tuple[str, ...]) -> frozenset[str]:
    """Whose patients' links (the patient index's review) a person decides: an administrator's
    or a head's (负责人) :func:`administration` — a lead hospital's, its alliances' members."""
    managed = administration(session, org_id, (Role.ADMIN.value,))
    allowed = managed is not None and bool({Role.ADMIN.value, Role.HEAD.value} & set(roles))
    return managed.orgs if allowed and managed else frozenset()
