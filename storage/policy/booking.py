"""Who books which exam slots of a shared centre (预约检查)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Centre, CentreServed


def runs_centre(session: Session, org_id: str, centre_id: str) -> bool:
    """Whether ``org_id`` is the organization of the centre (the lead hospital)."""
    centre = session.get(Centre, centre_id)
    return centre is not None and centre.org_id == org_id


def booking_refusal(
    session: Session, org_id: str, centre_id: str, members_share: bool
) -> str | None:
    """Why ``org_id`` may not book a slot of the centre (None: it may).  The centre's own
    organization books any slot; a member the centre serves books the share reserved for
    members (``members_share``); an organization the centre does not serve books none."""
    if runs_centre(session, org_id, centre_id):
        return None
    served = session.scalar(
        select(CentreServed.org_id).where(
            CentreServed.centre_id == centre_id, CentreServed.org_id == org_id
        )
    )
    if served is None:
        return "only members of the alliance this centre serves book its slots"
    if not members_share:
        return "this slot is not in the share reserved for members' patients"
    return None
