"""The master patient index (MPI): one person across the members, each member knowing the
patient by its own record.  HAPI FHIR MDM is the model: every member's ``Patient`` has one
``MATCH`` link to a person (the golden id), and may have ``POSSIBLE_MATCH`` links waiting for
review and ``NO_MATCH`` links that a reviewer decided (never proposed again)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, UTCDateTime, utcnow
from storage.models.registry import LabelledEnum


class MatchGrade(LabelledEnum):
    MATCH = ("MATCH", "同一人")
    POSSIBLE_MATCH = ("POSSIBLE_MATCH", "疑似同一人，待审核")
    NO_MATCH = ("NO_MATCH", "非同一人")


class LinkSource(LabelledEnum):
    """How a link was made."""

    ID_CARD = ("id-card", "身份证号相同")
    HEALTH_CARD = ("health-card", "居民健康卡号相同")
    SCORE = ("score", "概率匹配")
    NEW = ("new", "新建")  # nobody matched: the patient is a person of its own
    MANUAL = ("manual", "人工审核")


REVIEWED = "grade != 'MATCH'"  # the links a person reviews or decided


class MpiRecord(Base):
    """What the index compares of one member's Patient (its current version)."""

    __tablename__ = "mpi_records"

    patient_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    org_id: Mapped[str | None] = mapped_column(String(64))  # the member that owns it
    features: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MpiKey(Base):
    """A blocking key of a record (``id:`` 身份证号, ``hc:`` 健康卡号, ``t:`` phone, ``n:`` a
    pinyin reading of the name with the birth year): candidates are the records sharing a key,
    never the whole index."""

    __tablename__ = "mpi_keys"

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    patient_id: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)


class MpiLink(Base):
    """One link of a member's Patient to a person, with its grade, how and by whom it was
    made.  A Patient has exactly one ``MATCH`` link."""

    __tablename__ = "mpi_links"
    __table_args__ = (
        Index("ix_mpi_links_person", "person_id", "grade"),
        # The review's: proposals and decisions only.  Nearly every row is a MATCH; an index
        # leading with every grade would have the planner read all of them for grade = MATCH.
        Index(
            "ix_mpi_links_review", "grade", "made_at",
            sqlite_where=text(REVIEWED), postgresql_where=text(REVIEWED),
        ),
    )  # fmt: skip

    patient_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    grade: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16))
    score: Mapped[float | None] = mapped_column(Float)
    made_by: Mapped[str] = mapped_column(String(64))  # "mpi" for automatic links, else a user
    made_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
