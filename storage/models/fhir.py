"""FHIR resources: the current version of each resource and every version it had (history),
and the search index of the current versions (one table per SearchParameter type).
The resource is kept as its JSON, with ``meta.versionId`` and ``meta.lastUpdated`` set by the
store; ``owner_org_id`` is the organization the data belongs to (the policy filters on it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, Select, String, select
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, BigIntPK, UTCDateTime, utcnow


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


class FhirResourceGrant(Base):
    """An organization besides the owner that may see a resource: the one an order is placed
    with, the one whose order a result answers (decided by ``storage.policy`` at write time)."""

    __tablename__ = "fhir_resource_grants"

    resource_type: Mapped[str] = mapped_column(String(64), primary_key=True)
    resource_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(64), primary_key=True)


class _IndexRow:
    """One search value of one resource (``param`` is the SearchParameter code)."""

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    resource_type: Mapped[str] = mapped_column(String(64))
    resource_id: Mapped[str] = mapped_column(String(64))
    param: Mapped[str] = mapped_column(String(64))

    @classmethod
    def ids(cls, resource_type: str, param: str, *conditions: Any) -> Select[Any]:
        """The ids of the resources of a type whose ``param`` rows meet ``conditions``."""
        return select(cls.resource_id).where(
            cls.resource_type == resource_type, cls.param == param, *conditions
        )


def _owner_index(table: str, *values: str) -> Index:
    """One resource's rows of a parameter; with the ``values`` a per-resource check (a criterion
    that does not drive the search) reads the index alone."""
    return Index(f"ix_{table}_resource", "resource_type", "resource_id", "param", *values)


class FhirTokenIndex(_IndexRow, Base):
    __tablename__ = "fhir_index_token"
    __table_args__ = (
        _owner_index("fhir_index_token", "code", "system"),
        Index(
            "ix_fhir_index_token_code", "resource_type", "param", "code", "system", "resource_id"
        ),
        Index("ix_fhir_index_token_text", "resource_type", "param", "text"),
    )

    system: Mapped[str | None] = mapped_column(String(255))
    code: Mapped[str | None] = mapped_column(String(255))
    text: Mapped[str | None] = mapped_column(String(255))


class FhirStringIndex(_IndexRow, Base):
    __tablename__ = "fhir_index_string"
    __table_args__ = (
        _owner_index("fhir_index_string", "value"),
        Index("ix_fhir_index_string_value", "resource_type", "param", "value", "resource_id"),
    )

    value: Mapped[str] = mapped_column(String(255))


SORT_LOW = ("low", "resource_id", "high", "wide")
SORT_HIGH = ("high", "resource_id", "low", "wide")


class FhirDateIndex(_IndexRow, Base):
    __tablename__ = "fhir_index_date"
    __table_args__ = (
        _owner_index("fhir_index_date", "low", "high"),
        Index(
            "ix_fhir_index_date_low", "resource_type", "param", "wide", "low", "high", "resource_id"
        ),
        # A sorted page read in order (storage.fhir.ordering): oldest first, newest first.
        # Covering, so that a date range the planner reads through them reads nothing else.
        Index("ix_fhir_index_date_sort_low", "resource_type", "param", *SORT_LOW),
        Index("ix_fhir_index_date_sort_high", "resource_type", "param", *SORT_HIGH),
    )

    low: Mapped[str] = mapped_column(String(19))
    high: Mapped[str] = mapped_column(String(19))
    # Spans more than a day (a Period, a year or month): the search treats these apart.
    wide: Mapped[bool] = mapped_column(Boolean)


class FhirTokenDateIndex(_IndexRow, Base):
    """A token and a date of the same resource, paired (``param`` names the pair, e.g.
    ``code+date``; see :mod:`storage.fhir.combos`): the index that answers "this code in this
    week" in one range instead of intersecting two large ones."""

    __tablename__ = "fhir_index_token_date"
    __table_args__ = (
        _owner_index("fhir_index_token_date"),
        Index(
            "ix_fhir_index_token_date_code",
            "resource_type",
            "param",
            "code",
            "wide",
            "low",
            "high",
            "system",
            "resource_id",
        ),
    )

    system: Mapped[str | None] = mapped_column(String(255))
    code: Mapped[str] = mapped_column(String(255))
    low: Mapped[str] = mapped_column(String(19))
    high: Mapped[str] = mapped_column(String(19))
    wide: Mapped[bool] = mapped_column(Boolean)


class FhirReferenceIndex(_IndexRow, Base):
    __tablename__ = "fhir_index_reference"
    __table_args__ = (
        _owner_index("fhir_index_reference", "target"),
        Index("ix_fhir_index_reference_target", "resource_type", "param", "target", "resource_id"),
    )

    target: Mapped[str] = mapped_column(String(255))


class FhirQuantityIndex(_IndexRow, Base):
    """Quantities (value, system, code) and plain numbers (no system, no code)."""

    __tablename__ = "fhir_index_quantity"
    __table_args__ = (
        _owner_index("fhir_index_quantity"),
        Index(
            "ix_fhir_index_quantity_value", "resource_type", "param", "code", "value", "resource_id"
        ),
    )

    system: Mapped[str | None] = mapped_column(String(255))
    code: Mapped[str | None] = mapped_column(String(64))
    value: Mapped[float] = mapped_column(Float)


class FhirUriIndex(_IndexRow, Base):
    __tablename__ = "fhir_index_uri"
    __table_args__ = (
        _owner_index("fhir_index_uri"),
        Index("ix_fhir_index_uri_value", "resource_type", "param", "value", "resource_id"),
    )

    value: Mapped[str] = mapped_column(String(255))


class SubscriptionPing(Base):
    """A notification for a websocket Subscription: the gateway's open sockets send ``ping``
    for each row after the last one they saw."""

    __tablename__ = "subscription_pings"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    subscription_id: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
