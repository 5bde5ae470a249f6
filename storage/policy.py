"""Who may see what: the one place that decides which organizations' data a requester sees.

An organization sees its own data, and an organization that runs shared centres (the lead
hospital) sees the data of every member its centres serve: that is what reading remotely
("基层检查、上级诊断") needs.  Every query of patient data goes through :func:`visible_orgs`.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Centre, CentreServed


def visible_orgs(session: Session, org_id: str) -> set[str]:
    served = session.scalars(
        select(CentreServed.org_id)
        .join(Centre, Centre.id == CentreServed.centre_id)
        .where(Centre.org_id == org_id)
    )
    return {org_id, *served}
