"""The recognition catalogue as the server reads it (互认项目目录: the items of an
organization's alliances, a member's qualification on a day, the items it was qualified for on
a day) and the register of what doctors decided about offered priors (recognised or repeated,
for the alliance's indicators)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import AllianceMember, Qualification, RecognitionDecision, RecognitionItem


def items_of(session: Session, org_id: str) -> list[RecognitionItem]:
    """The catalogue items of every alliance ``org_id`` is a member of."""
    alliances = select(AllianceMember.alliance_id).where(AllianceMember.org_id == org_id)
    return list(
        session.scalars(
            select(RecognitionItem)
            .where(RecognitionItem.alliance_id.in_(alliances))
            .order_by(RecognitionItem.alliance_id, RecognitionItem.code)
        )
    )


def qualified(session: Session, org_id: str, group: str, on: date) -> bool:
    """Whether ``org_id`` held a QC / EQA pass for ``group`` on the day ``on``."""
    return (
        session.scalar(
            select(Qualification.org_id)
            .where(
                Qualification.org_id == org_id,
                Qualification.group == group,
                Qualification.valid_from <= on,
                Qualification.valid_until >= on,
            )
            .limit(1)
        )
        is not None
    )


def qualified_items(session: Session, org_id: str, on: date) -> list[RecognitionItem]:
    """The catalogue items of ``org_id``'s alliances whose group it held a QC / EQA pass for
    on the day ``on`` (in the order of :func:`items_of`)."""
    alliances = select(AllianceMember.alliance_id).where(AllianceMember.org_id == org_id)
    passed = select(Qualification.group).where(
        Qualification.org_id == org_id,
        Qualification.valid_from <= on,
        Qualification.valid_until >= on,
    )
    return list(
        session.scalars(
            select(RecognitionItem)
            .where(RecognitionItem.alliance_id.in_(alliances), RecognitionItem.group.in_(passed))
            .order_by(RecognitionItem.alliance_id, RecognitionItem.code)
        )
    )


def record_decision(
    session: Session,
    *,
    issue_id: str,
    item: RecognitionItem,
    org_id: str,
    prior_org_id: str,
    order_ref: str,
    prior_ref: str,
    decision: str,
    reason: str | None,
    by: str,
    at: datetime,
) -> RecognitionDecision:
    """One decision about one offered prior (its ``DetectedIssue`` has the same id); a repeat
    saves nothing, a recognition the item's price."""
    row = RecognitionDecision(
        id=issue_id, alliance_id=item.alliance_id, item_code=item.code, org_id=org_id,
        prior_org_id=prior_org_id, order_ref=order_ref, prior_ref=prior_ref, decision=decision,
        reason=reason, price=item.price if decision == "recognised" else Decimal("0.00"),
        decided_by=by, decided_at=at,
    )  # fmt: skip
    session.add(row)
    session.flush()
    return row


def decisions_in(session: Session, orgs: set[str], start: datetime, end: datetime) -> list[Any]:
    """The decisions ``orgs`` made (as the ordering member) in ``[start, end)``, as read-only
    rows of :class:`RecognitionDecision`'s columns (a year's are many: no ORM objects)."""
    decision = RecognitionDecision
    statement = select(*decision.__table__.columns).where(
        decision.org_id.in_(orgs), decision.decided_at >= start, decision.decided_at < end
    )
    return list(session.execute(statement.order_by(decision.decided_at)).all())
