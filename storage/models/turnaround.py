"""Lab turnaround (检验周转): the milestones of each commissioned lab order, kept as they are
learnt from the order, its specimens, its delivery to the LIS and its report."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, UTCDateTime


class LabTurnaround(Base):
    __tablename__ = "lab_turnaround"
    __table_args__ = (
        Index("ix_lab_turnaround_requester", "requester_org_id", "ordered_at"),
        Index("ix_lab_turnaround_performer", "performer_org_id", "ordered_at"),
        Index("ix_lab_turnaround_ordered", "ordered_at"),
    )

    order_id: Mapped[str] = mapped_column(String(64), primary_key=True)  # ServiceRequest id
    requester_org_id: Mapped[str | None] = mapped_column(String(64))
    performer_org_id: Mapped[str | None] = mapped_column(String(64))
    specimen: Mapped[str | None] = mapped_column(String(64))  # Specimen id (the first)
    ordered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # 开单
    collected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # 采集
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # 送检: the LIS has the order
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # 接收 (签收)
    rejected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # 拒收
    rejection_reason: Mapped[str | None] = mapped_column(String(200))
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # 报告 (first final)
