"""The modality worklist and its performed steps: the Study Instance UID given once to each
scheduled order (the modality uses it, so the images it sends belong to the order), and each
Modality Performed Procedure Step (MPPS) a modality reported, with the FHIR ``Procedure`` that
records it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, UTCDateTime, utcnow


class WorklistStudy(Base):
    """The Study Instance UID of a scheduled order, made the first time the worklist serves it
    and never changed."""

    __tablename__ = "worklist_studies"

    order_id: Mapped[str] = mapped_column(String(64), primary_key=True)  # ServiceRequest id
    study_uid: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PerformedStep(Base):
    """One MPPS instance (its SOP Instance UID, chosen by the modality): who created it, its
    state (IN PROGRESS, then COMPLETED or DISCONTINUED, both final) and its ``Procedure``."""

    __tablename__ = "mpps_instances"

    sop_instance_uid: Mapped[str] = mapped_column(String(64), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    ae_title: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    procedure_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
