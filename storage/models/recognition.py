"""The alliance's recognition catalogue (互认项目目录), its members' qualifications for it
(质控 / 室间质评), and what a doctor decided when a recognisable prior was offered."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, UTCDateTime
from storage.models.charges import MONEY
from storage.models.registry import LabelledEnum


class RecognitionKind(LabelledEnum):
    IMAGING = ("imaging", "影像检查")
    ULTRASOUND = ("ultrasound", "超声检查")
    ECG = ("ecg", "心电检查")
    LAB = ("lab", "检验项目")


class RecognitionScope(LabelledEnum):
    """Where a result is recognised (its mark says so: 金HR, 浙HR …)."""

    ALLIANCE = ("alliance", "医联体内互认")
    CITY = ("city", "市内互认")
    PROVINCE = ("province", "省内互认")


class RecognitionItem(Base):
    """One item of an alliance's catalogue (the alliance file's ``recognition_items``)."""

    __tablename__ = "recognition_items"

    alliance_id: Mapped[str] = mapped_column(ForeignKey("alliances.id"), primary_key=True)
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    group: Mapped[str] = mapped_column("qc_group", String(64))
    window_days: Mapped[int] = mapped_column(Integer)
    scope: Mapped[str] = mapped_column(String(16))
    mark: Mapped[str] = mapped_column(String(16))
    price: Mapped[Decimal] = mapped_column(MONEY)
    # {"modality": "CT", "body_sites": ["69536005"]} or {"loinc": "2823-3"}
    matches: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Qualification(Base):
    """A member's QC / EQA pass for an item group, valid over whole days (Beijing dates)."""

    __tablename__ = "qualifications"

    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    group: Mapped[str] = mapped_column("qc_group", String(64), primary_key=True)
    valid_from: Mapped[date] = mapped_column(Date, primary_key=True)
    valid_until: Mapped[date] = mapped_column(Date)
    programme: Mapped[str] = mapped_column(String(200))


class RecognitionDecision(Base):
    """What the ordering doctor did with one offered prior (a ``DetectedIssue`` of the same
    id): recognised it (the order dropped) or repeated the examination, with the reason."""

    __tablename__ = "recognition_decisions"
    __table_args__ = (Index("ix_recognition_decisions_org", "org_id", "decided_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    alliance_id: Mapped[str] = mapped_column(String(64))
    item_code: Mapped[str] = mapped_column(String(64))
    org_id: Mapped[str] = mapped_column(String(64))  # the ordering member
    prior_org_id: Mapped[str] = mapped_column(String(64))  # where the prior was done
    order_ref: Mapped[str] = mapped_column(String(128))
    prior_ref: Mapped[str] = mapped_column(String(128))
    decision: Mapped[str] = mapped_column(String(16))  # recognised | repeated
    reason: Mapped[str | None] = mapped_column(String(32))
    price: Mapped[Decimal] = mapped_column(MONEY)
    decided_by: Mapped[str] = mapped_column(String(128))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RecognitionCard(Base):
    """A CDS Hooks card offering one prior for one draft order, kept so that the client's
    feedback on it (互认 accepted, 不互认 overridden) is recorded against what was offered."""

    __tablename__ = "recognition_cards"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the card's uuid
    suggestion_id: Mapped[str] = mapped_column(String(64))
    service_id: Mapped[str] = mapped_column(String(64))
    org_id: Mapped[str] = mapped_column(String(64))
    order: Mapped[dict[str, Any]] = mapped_column(JSON)  # the draft ServiceRequest
    prior_ref: Mapped[str] = mapped_column(String(128))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RecognitionShare(Base):
    """A prior result offered to an orderer for recognition (a report with its images): kept
    here so every later version of the resource — a corrected report, a study republished when
    an image arrives — keeps the orderer's grant (``storage.policy.kept_shares``)."""

    __tablename__ = "recognition_shares"

    resource_type: Mapped[str] = mapped_column(String(64), primary_key=True)
    resource_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the orderer
    offered_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)  # first offered
