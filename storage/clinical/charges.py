"""The charges of completed remote services (收费项目), between the requesting and the
performing member, for their monthly settlement (月度结算).

Invariant: a piece of work is charged once per service.  ``(source, service_code)`` — the
order that was completed and the catalogue's service — is unique in ``charges``, so whatever
repeats the event that completes it (a retried worker, the same report stored again) finds
the charge made or has its second insert refused; :func:`record` is that write, in the
caller's transaction with the ``ChargeItem`` it stands for.  The fee is the catalogue's at the
time, kept with the charge: a later change of the catalogue does not change past months.
Money is ``Decimal`` throughout; sums are made here, never by the database's floats.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.models import Charge
from storage.policy import settles


@dataclass(frozen=True)
class NewCharge:
    id: str  # the ChargeItem's id
    source: str  # ServiceRequest/{id}
    alliance_id: str
    service_code: str
    service_name: str
    basis: str
    requesting_org_id: str
    performing_org_id: str
    occurred_at: datetime
    quantity: int
    unit_fee: Decimal


def charged(session: Session, source: str, service_code: str) -> str | None:
    """The id of the charge already made for this work and service, if any."""
    return session.scalar(
        select(Charge.id).where(Charge.source == source, Charge.service_code == service_code)
    )


def record(session: Session, charge: NewCharge) -> bool:
    """Keep the charge; False (nothing written) when the work was charged for this service."""
    if charged(session, charge.source, charge.service_code) is not None:
        return False
    row = {**charge.__dict__, "amount": charge.unit_fee * charge.quantity}
    try:
        with session.begin_nested():
            session.execute(insert(Charge).values(**row))
    except IntegrityError:
        return False  # charged by a concurrent writer
    return True


@dataclass(frozen=True)
class Line:
    """One line of a settlement: a service at one unit fee, between one pair of members."""

    requesting_org_id: str
    performing_org_id: str
    service_code: str
    service_name: str
    basis: str
    unit_fee: Decimal
    count: int

    @property
    def amount(self) -> Decimal:
        return self.unit_fee * self.count


def settlement_lines(session: Session, org_id: str, start: datetime, end: datetime) -> list[Line]:
    """The lines of the charges made in ``[start, end)`` on ``org_id``'s settlement (the
    policy: the pairs it is one of), by pair, service and unit fee."""
    rows = session.execute(
        select(
            Charge.requesting_org_id,
            Charge.performing_org_id,
            Charge.service_code,
            func.max(Charge.service_name),
            Charge.basis,
            Charge.unit_fee,
            func.sum(Charge.quantity),
        )
        .where(
            settles(org_id, Charge.requesting_org_id, Charge.performing_org_id),
            Charge.occurred_at >= start,
            Charge.occurred_at < end,
        )
        .group_by(
            Charge.requesting_org_id,
            Charge.performing_org_id,
            Charge.service_code,
            Charge.basis,
            Charge.unit_fee,
        )
        .order_by(
            Charge.requesting_org_id,
            Charge.performing_org_id,
            Charge.service_code,
            Charge.unit_fee,
        )
    )
    return [Line(r[0], r[1], r[2], r[3], r[4], Decimal(r[5]), int(r[6])) for r in rows]


def total(lines: Iterable[Line]) -> Decimal:
    return sum((line.amount for line in lines), Decimal("0.00"))
