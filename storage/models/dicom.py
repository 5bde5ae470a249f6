"""The DICOM index: patients, studies, series and instances as C-FIND and QIDO-RS match them,
where each instance's bytes are and where each of its frames starts; conflicts for admins;
forwarding routes and their deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, BigIntPK, UTCDateTime, utcnow

UID = String(64)


class DicomPatient(Base):
    """A patient as one organization identifies them (PatientID is only unique per issuer).

    The same PatientID from one organization with different demographics is a second row plus a
    ``patient_identity`` conflict: flagged for an admin, never merged silently.
    """

    __tablename__ = "dicom_patients"
    __table_args__ = (
        UniqueConstraint("org_id", "patient_id", "name", "birth_date", "sex"),
        Index("ix_dicom_patients_patient_id", "patient_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    patient_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(324), default="")
    birth_date: Mapped[str] = mapped_column(String(8), default="")
    sex: Mapped[str] = mapped_column(String(16), default="")


class DicomStudy(Base):
    __tablename__ = "dicom_studies"
    __table_args__ = (
        Index("ix_dicom_studies_study_date", "study_date"),
        Index("ix_dicom_studies_accession_number", "accession_number"),
        Index("ix_dicom_studies_stable", "stable_through", "last_received_at"),
    )

    study_uid: Mapped[str] = mapped_column(UID, primary_key=True)
    patient_pk: Mapped[int] = mapped_column(ForeignKey("dicom_patients.id"), index=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    study_date: Mapped[str] = mapped_column(String(8), default="")
    study_time: Mapped[str] = mapped_column(String(16), default="")
    accession_number: Mapped[str] = mapped_column(String(64), default="")
    # StudyID is SH (16 characters), but what a modality sends is indexed whole: up to 64.
    study_id: Mapped[str] = mapped_column(String(64), default="")
    description: Mapped[str] = mapped_column(String(200), default="")
    referring_physician: Mapped[str] = mapped_column(String(324), default="")
    modalities: Mapped[str] = mapped_column(String(128), default="", doc="backslash-separated")
    series_count: Mapped[int] = mapped_column(Integer, default=0)
    instance_count: Mapped[int] = mapped_column(Integer, default=0)
    first_received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # ``last_received_at`` as it was when ``study.stable`` was last emitted (None: never).
    stable_through: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DicomSeries(Base):
    __tablename__ = "dicom_series"

    series_uid: Mapped[str] = mapped_column(UID, primary_key=True)
    study_uid: Mapped[str] = mapped_column(ForeignKey("dicom_studies.study_uid"), index=True)
    modality: Mapped[str] = mapped_column(String(16), default="")
    series_number: Mapped[int | None] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(String(200), default="")
    body_part: Mapped[str] = mapped_column(String(64), default="")
    series_date: Mapped[str] = mapped_column(String(8), default="")
    series_time: Mapped[str] = mapped_column(String(16), default="")
    instance_count: Mapped[int] = mapped_column(Integer, default=0)


class DicomInstance(Base):
    __tablename__ = "dicom_instances"

    sop_instance_uid: Mapped[str] = mapped_column(UID, primary_key=True)
    series_uid: Mapped[str] = mapped_column(ForeignKey("dicom_series.series_uid"), index=True)
    sop_class_uid: Mapped[str] = mapped_column(UID)
    instance_number: Mapped[int | None] = mapped_column(Integer)
    transfer_syntax_uid: Mapped[str] = mapped_column(UID)
    object_key: Mapped[str] = mapped_column(ForeignKey("stored_objects.key"), unique=True)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    calling_ae: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    rows: Mapped[int | None] = mapped_column(Integer)
    columns: Mapped[int | None] = mapped_column(Integer)
    number_of_frames: Mapped[int | None] = mapped_column(Integer)
    # Per frame, the byte ranges [offset, length] of its pixel data in the stored object: one
    # range for native data and for a frame in one fragment, one per fragment otherwise.
    # None when ranges cannot be given (no pixel data, deflated transfer syntax).
    frames: Mapped[list[list[list[int]]] | None] = mapped_column(JSON)


class ConflictKind:
    INSTANCE_CONTENT = "instance_content"
    PATIENT_IDENTITY = "patient_identity"


class DicomConflict(Base):
    """Something received that must not be merged or overwritten silently; an admin decides.

    ``instance_content``: a known SOP Instance UID arrived with other bytes; the received copy
    is kept under ``object_key``.  ``patient_identity``: a known PatientID of the same
    organization arrived with other demographics; ``detail`` names both patient rows.
    """

    __tablename__ = "dicom_conflicts"
    __table_args__ = (Index("ix_dicom_conflicts_open", "resolved_at", "kind"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    calling_ae: Mapped[str] = mapped_column(String(16))
    study_uid: Mapped[str] = mapped_column(UID)
    sop_instance_uid: Mapped[str | None] = mapped_column(UID, index=True)
    object_key: Mapped[str | None] = mapped_column(ForeignKey("stored_objects.key"), unique=True)
    sha256: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DicomRoute(Base):
    """Forward stable studies to a registered peer (e.g. the lead hospital's PACS).

    Empty ``source_org_id`` / ``modalities`` match everything.
    """

    __tablename__ = "dicom_routes"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    destination_ae: Mapped[str] = mapped_column(ForeignKey("ae_titles.ae_title"))
    source_org_id: Mapped[str | None] = mapped_column(ForeignKey("organizations.id"))
    modalities: Mapped[str] = mapped_column(String(128), default="", doc="backslash-separated")


class DicomDelivery(Base):
    """An instance a route has delivered (so a retry or a later batch sends only the rest)."""

    __tablename__ = "dicom_deliveries"

    destination_ae: Mapped[str] = mapped_column(String(16), primary_key=True)
    sop_instance_uid: Mapped[str] = mapped_column(
        ForeignKey("dicom_instances.sop_instance_uid", ondelete="CASCADE"), primary_key=True
    )
    sha256: Mapped[str] = mapped_column(String(64))
    delivered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
