"""Notifications for websocket Subscriptions, handed from the worker to the gateway's sockets
through the database (the services share nothing else)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from storage.models import SubscriptionPing, utcnow


def record(session: Session, subscription_id: str) -> None:
    session.add(SubscriptionPing(subscription_id=subscription_id))


def latest(session: Session) -> int:
    """The id of the newest ping (0 when there is none): a new socket starts after it."""
    return session.scalar(select(func.max(SubscriptionPing.id))) or 0


def after(session: Session, subscription_ids: set[str], last: int) -> list[tuple[int, str]]:
    """``(id, subscription)`` of the pings for these Subscriptions newer than ``last``."""
    rows = session.execute(
        select(SubscriptionPing.id, SubscriptionPing.subscription_id)
        .where(SubscriptionPing.id > last, SubscriptionPing.subscription_id.in_(subscription_ids))
        .order_by(SubscriptionPing.id)
    )
    return [(row.id, row.subscription_id) for row in rows]


def forget_older_than(session: Session, age: timedelta) -> int:
    cutoff: datetime = utcnow() - age
    return session.execute(
        delete(SubscriptionPing).where(SubscriptionPing.created_at < cutoff)
    ).rowcount
