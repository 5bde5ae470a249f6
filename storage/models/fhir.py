"""FHIR resources: the current version of each resource and every version it had (history).
The resource is kept as its JSON, with ``meta.versionId`` and ``meta.lastUpdated`` set by the
store; ``owner_org_id`` is the organization the data belongs to (the policy filters on it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, UTCDateTime, utcnow


class FhirResource(Base):
    __tablename__ = "fhir_resources"
    __table_args__ = (Index("ix_fhir_resources_type_updated", "resource_type", "last_updated"),)

    resource_type: Mapped[str] = mapped_column(String(64), primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version_id: Mapped[int] = mapped_column(Integer)
    last_updated: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    owner_org_id: Mapped[str | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    content: Mapped[dict[str, Any]] = mapped_column(JSON)


class FhirResourceVersion(Base):
    __tablename__ = "fhir_resource_versions"

    resource_type: Mapped[str] = mapped_column(String(64), primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_updated: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    owner_org_id: Mapped[str | None] = mapped_column(String(64))
    content: Mapped[dict[str, Any] | None] = mapped_column(JSON)
