"""Referrals between members (双向转诊): each referral's steps, and what it shares."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, UTCDateTime


class ReferralSteps(Base):
    """One row per referral Task: who refers whom to whom, and when each step happened."""

    __tablename__ = "referral_steps"
    __table_args__ = (
        Index("ix_referral_steps_referral", "referral_id"),
        Index("ix_referral_steps_receiver", "receiver_org_id", "referred_at"),
        Index("ix_referral_steps_referrer", "referrer_org_id", "referred_at"),
    )

    task_id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the receiver's Task
    referral_id: Mapped[str] = mapped_column(String(64))  # the ServiceRequest
    direction: Mapped[str] = mapped_column(String(8))  # up 上转 / down 下转
    priority: Mapped[str] = mapped_column(String(16))
    referrer_org_id: Mapped[str] = mapped_column(String(64))
    receiver_org_id: Mapped[str] = mapped_column(String(64))
    booked: Mapped[bool] = mapped_column(Boolean, default=False)  # 预约转诊: with an Appointment
    referred_at: Mapped[datetime] = mapped_column(UTCDateTime)  # 转出
    accept_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # green channel 绿色通道
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # 接收
    accepted_by: Mapped[str | None] = mapped_column(String(64))
    declined_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # 拒收
    declined_by: Mapped[str | None] = mapped_column(String(64))
    arrived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # 患者到院
    arrived_by: Mapped[str | None] = mapped_column(String(64))
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # 完成，回传小结
    completed_by: Mapped[str | None] = mapped_column(String(64))
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # 撤销 (the referrer)
    cancelled_by: Mapped[str | None] = mapped_column(String(64))
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # 超时上报


class ReferralShare(Base):
    """A resource a referral shares with an organization beyond what the resource itself names
    (the patient and the documents going with it, the summary sent back): kept here so every
    later version of the resource keeps the grant (``storage.policy.kept_shares``)."""

    __tablename__ = "referral_shares"

    resource_type: Mapped[str] = mapped_column(String(64), primary_key=True)
    resource_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    referral_id: Mapped[str] = mapped_column(String(64), primary_key=True)  # ServiceRequest id
