"""Remote reading (基层检查、上级诊断): the milestones of each reading Task, kept as the work
goes through the centre, for the worklist's clocks and the turnaround figures."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, UTCDateTime


class ReadingMilestones(Base):
    __tablename__ = "reading_milestones"
    __table_args__ = (
        Index("ix_reading_milestones_centre", "centre_id", "ordered_at"),
        Index("ix_reading_milestones_order", "order_id"),
        Index("ix_reading_milestones_open", "finished_at", "due_at"),
        Index("ix_reading_milestones_ordered", "ordered_at"),
    )

    task_id: Mapped[str] = mapped_column(String(64), primary_key=True)  # Task id
    order_id: Mapped[str] = mapped_column(String(64))  # ServiceRequest id
    centre_id: Mapped[str] = mapped_column(String(64))
    requester_org_id: Mapped[str | None] = mapped_column(String(64))
    modality: Mapped[str | None] = mapped_column(String(16))
    priority: Mapped[str] = mapped_column(String(16))
    ordered_at: Mapped[datetime] = mapped_column(UTCDateTime)  # 开单
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)  # 应完成
    exam_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # MPPS in progress
    exam_ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # MPPS completed
    images_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # 图像齐全 (study stable)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # 领取 (the last claim)
    preliminary_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # 初步报告
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # 审核签发
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # 送达
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # 退回
    amended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # 更正 (the last)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # 超时上报
    # When the work ended (verified, returned or cancelled): open work has none.
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    author: Mapped[str | None] = mapped_column(String(64))  # username
    verifier: Mapped[str | None] = mapped_column(String(64))  # username
    # The Transaction UID of the UPS-RS claim (the workstation that holds the work knows it).
    ups_transaction: Mapped[str | None] = mapped_column(String(64))


class StudyLink(Base):
    """A study linked to an order by a person (confirmed), or the one order it seems to answer
    by patient, modality and date (a candidate, shown for confirmation, never used silently)."""

    __tablename__ = "study_links"

    study_uid: Mapped[str] = mapped_column(String(64), primary_key=True)
    order_id: Mapped[str] = mapped_column(String(64), index=True)  # ServiceRequest id
    confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    linked_by: Mapped[str | None] = mapped_column(String(64))  # who confirmed it
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class PatientLink(Base):
    """A patient's link to a signed report and its images (云胶片): a secret token (kept only as
    its SHA-256), until it expires or is revoked."""

    __tablename__ = "patient_links"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # names it for revocation
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    report_id: Mapped[str] = mapped_column(String(64), index=True)  # DiagnosticReport id
    org_id: Mapped[str] = mapped_column(String(64))  # the organization that gave it
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
