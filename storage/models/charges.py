"""The alliance's remote-service catalogue (远程服务目录: one fee standard, one service
specification) and the charges its completed services made (收费项目, for monthly settlement)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, UTCDateTime, utcnow
from storage.models.registry import LabelledEnum

# Money in yuan with fen (two decimal places), exact: never a float.
MONEY = Numeric(12, 2, asdecimal=True)


class ServiceKind(LabelledEnum):
    IMAGING = ("imaging", "远程影像诊断")
    ECG = ("ecg", "远程心电诊断")
    PATHOLOGY = ("pathology", "远程病理诊断")
    LAB = ("lab", "委托检验")
    CONSULTATION = ("consultation", "远程会诊")


class FeeBasis(LabelledEnum):
    """What one fee pays for."""

    EXAM = ("exam", "每例")  # an examination read (one order)
    ITEM = ("item", "每项")  # a lab item reported
    SESSION = ("session", "每次")  # a consultation


class RemoteService(Base):
    """One service of an alliance's catalogue (the alliance file's ``services``)."""

    __tablename__ = "remote_services"

    alliance_id: Mapped[str] = mapped_column(ForeignKey("alliances.id"), primary_key=True)
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    centre_id: Mapped[str] = mapped_column(ForeignKey("centres.id"))  # who performs it
    performer_roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    turnaround_hours: Mapped[int] = mapped_column(Integer)
    fee: Mapped[Decimal] = mapped_column(MONEY)  # CNY
    basis: Mapped[str] = mapped_column(String(16))
    # How a completed piece of work is recognised as this service: {"modalities": [...]} for
    # readings, {"lab_codes": [...]} for commissioned lab items, {"order_codes": [...]}.
    matches: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Charge(Base):
    """One charge for one completed service (a ``ChargeItem`` of the same id): what the
    monthly settlement between two members adds up.  Unique per (source, service): the work
    that completed it (``ServiceRequest/…``) is charged once, whatever repeats the event."""

    __tablename__ = "charges"
    __table_args__ = (
        UniqueConstraint("source", "service_code", name="uq_charges_source_service"),
        Index("ix_charges_requesting", "requesting_org_id", "occurred_at"),
        Index("ix_charges_performing", "performing_org_id", "occurred_at"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # ChargeItem id
    source: Mapped[str] = mapped_column(String(128))  # the order: ServiceRequest/id
    alliance_id: Mapped[str] = mapped_column(String(64))
    service_code: Mapped[str] = mapped_column(String(64))
    service_name: Mapped[str] = mapped_column(String(200))
    basis: Mapped[str] = mapped_column(String(16))
    requesting_org_id: Mapped[str] = mapped_column(String(64))
    performing_org_id: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    unit_fee: Mapped[Decimal] = mapped_column(MONEY)  # the catalogue's fee at the time
    amount: Mapped[Decimal] = mapped_column(MONEY)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
