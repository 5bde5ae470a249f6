"""The alliance as data: organizations, alliances and members, shared centres, DICOM AE titles,
MLLP peers, API clients and users."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models.base import Base, UTCDateTime, utcnow


class LabelledEnum(StrEnum):
    """A code stored in the database, with the zh-CN label people read."""

    label_zh: str

    def __new__(cls, value: str, label_zh: str) -> LabelledEnum:
        member = str.__new__(cls, value)
        member._value_ = value
        member.label_zh = label_zh
        return member

    @classmethod
    def parse(cls, text: str) -> LabelledEnum:
        """Accept the code or the Chinese label."""
        for member in cls:
            if text in (member.value, member.label_zh):
                return member
        choices = ", ".join(f"{m.value} ({m.label_zh})" for m in cls)
        raise ValueError(f"{text!r} is not one of: {choices}")


class OrgKind(LabelledEnum):
    LEAD_HOSPITAL = ("lead_hospital", "牵头医院")
    COUNTY_HOSPITAL = ("county_hospital", "县级/区级医院")
    TOWNSHIP_HEALTH_CENTRE = ("township_health_centre", "乡镇卫生院")
    COMMUNITY_HEALTH_CENTRE = ("community_health_centre", "社区卫生服务中心")
    VILLAGE_CLINIC = ("village_clinic", "村卫生室")


class AllianceKind(LabelledEnum):
    CITY_MEDICAL_GROUP = ("city_medical_group", "城市医疗集团")
    COUNTY_MEDICAL_COMMUNITY = ("county_medical_community", "县域医共体")
    SPECIALTY_ALLIANCE = ("specialty_alliance", "专科联盟")
    TELEMEDICINE_NETWORK = ("telemedicine_network", "远程医疗协作网")


class CentreKind(LabelledEnum):
    IMAGING = ("imaging", "医学影像中心")
    ECG = ("ecg", "心电诊断中心")
    LAB = ("lab", "医学检验中心")
    PATHOLOGY = ("pathology", "病理诊断中心")


class AEKind(LabelledEnum):
    MODALITY = ("modality", "检查设备")
    WORKSTATION = ("workstation", "诊断工作站")
    ARCHIVE = ("archive", "PACS/影像归档")


class Role(LabelledEnum):
    READER = ("reader", "报告医师")
    SENIOR_READER = ("senior_reader", "审核医师")
    CLINICIAN = ("clinician", "临床医师")
    HEAD = ("head", "负责人")  # of an organization: told when a critical value is not answered
    ADMIN = ("admin", "管理员")


class HL7Encoding(LabelledEnum):
    UTF8 = ("utf-8", "UTF-8")
    GB18030 = ("gb18030", "GB18030")


class OrderMessage(LabelledEnum):
    """How lab orders are sent to an outbound LIS peer."""

    OML_O21 = ("OML^O21", "OML^O21（HL7 2.5 检验申请）")
    ORM_O01 = ("ORM^O01", "ORM^O01（HL7 2.3.1 医嘱）")


def _in(column: str, enum: type[LabelledEnum]) -> str:
    return f"{column} IN ({', '.join(repr(m.value) for m in enum)})"


class Organization(Base):
    __tablename__ = "organizations"
    __table_args__ = (CheckConstraint(_in("kind", OrgKind), name="kind"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    national_id: Mapped[str] = mapped_column(String(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Alliance(Base):
    __tablename__ = "alliances"
    __table_args__ = (CheckConstraint(_in("kind", AllianceKind), name="kind"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    lead_org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    # Minutes to accept an urgent upward referral (绿色通道); the platform's default if None.
    green_channel_minutes: Mapped[int | None] = mapped_column(Integer)
    # Working-day calendar ({holidays: [dates], workdays: [dates]}, ISO dates): the days off
    # and the weekend days worked (调休) besides Monday to Friday; None: weekdays only.
    calendar: Mapped[dict[str, list[str]] | None] = mapped_column(JSON)
    members: Mapped[list[AllianceMember]] = relationship(
        cascade="all, delete-orphan", order_by="AllianceMember.org_id"
    )


class AllianceMember(Base):
    __tablename__ = "alliance_members"

    alliance_id: Mapped[str] = mapped_column(
        ForeignKey("alliances.id", ondelete="CASCADE"), primary_key=True
    )
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), primary_key=True)


class Centre(Base):
    """A shared diagnostic centre of a lead hospital, serving some members of an alliance."""

    __tablename__ = "centres"
    __table_args__ = (
        CheckConstraint(_in("kind", CentreKind), name="kind"),
        UniqueConstraint("alliance_id", "kind"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    alliance_id: Mapped[str] = mapped_column(ForeignKey("alliances.id"))
    # Single sign-off (单人签发): a reader's submission is the signed report; else two sign.
    single_sign_off: Mapped[bool] = mapped_column(Boolean, default=False)
    # Due-time rules ({priority, modalities, minutes}, first match wins); None: the defaults.
    due_rules: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    # Report templates (报告模板) by modality and body part, as the alliance file gives them.
    report_templates: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Slots published for booking (预约检查): {modality, name, weekdays, hours, slot_minutes,
    # members_share, days_ahead}, as the alliance file gives them.
    booking_rules: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    served: Mapped[list[CentreServed]] = relationship(
        cascade="all, delete-orphan", order_by="CentreServed.org_id"
    )


class CentreServed(Base):
    __tablename__ = "centre_served"

    centre_id: Mapped[str] = mapped_column(
        ForeignKey("centres.id", ondelete="CASCADE"), primary_key=True
    )
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), primary_key=True)


class AETitle(Base):
    """A DICOM application entity owned by one organization.

    ``host``/``port`` are set for AEs that are C-MOVE destinations or forwarding peers.
    """

    __tablename__ = "ae_titles"
    __table_args__ = (
        CheckConstraint(_in("kind", AEKind), name="kind"),
        CheckConstraint("(host IS NULL) = (port IS NULL)", name="host_port_together"),
    )

    ae_title: Mapped[str] = mapped_column(String(16), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(String(200), default="")
    host: Mapped[str | None] = mapped_column(String(255))
    port: Mapped[int | None] = mapped_column(Integer)


class MllpPeer(Base):
    """An HL7 v2 system (LIS, analyser, HIS) identified by MSH-3 / MSH-4."""

    __tablename__ = "mllp_peers"
    __table_args__ = (
        CheckConstraint(_in("encoding", HL7Encoding), name="encoding"),
        CheckConstraint(_in("order_message", OrderMessage), name="order_message"),
        CheckConstraint("(host IS NULL) = (port IS NULL)", name="host_port_together"),
        UniqueConstraint("sending_application", "sending_facility"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    sending_application: Mapped[str] = mapped_column(String(180))
    sending_facility: Mapped[str] = mapped_column(String(180))
    encoding: Mapped[str] = mapped_column(String(16))
    host: Mapped[str | None] = mapped_column(String(255))
    port: Mapped[int | None] = mapped_column(Integer)
    # Outbound peers: the message lab orders are sent as.
    order_message: Mapped[str] = mapped_column(String(16), default=OrderMessage.OML_O21.value)


class LabItem(Base):
    """One test item of a lab's catalogue: its local code, the LOINC code it maps to, and the
    critical limits (危急值界限, in ``unit``) a result outside of which is a critical value."""

    __tablename__ = "lab_items"

    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    loinc: Mapped[str | None] = mapped_column(String(16))
    loinc_display: Mapped[str | None] = mapped_column(String(200))
    unit: Mapped[str | None] = mapped_column(String(32))
    critical_low: Mapped[float | None] = mapped_column(Float)
    critical_high: Mapped[float | None] = mapped_column(Float)


class ApiClient(Base):
    """A system (HIS/EMR/LIS) using the HTTP API with OAuth2 client credentials."""

    __tablename__ = "api_clients"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    secret_hash: Mapped[str | None] = mapped_column(String(255))
    scopes: Mapped[str] = mapped_column(Text, doc="space-separated SMART v2 scopes")
    # Public keys (a JWK Set) for SMART Backend Services: the client signs its assertions.
    jwks: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class User(Base):
    __tablename__ = "users"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(100))
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    practitioner_id: Mapped[str | None] = mapped_column(String(64), doc="医师执业证书编码")
    password_hash: Mapped[str] = mapped_column(String(255))
    organization: Mapped[Organization] = relationship(viewonly=True)
    roles: Mapped[list[UserRole]] = relationship(
        cascade="all, delete-orphan", order_by="UserRole.role"
    )


class UserRole(Base):
    __tablename__ = "user_roles"
    __table_args__ = (CheckConstraint(_in("role", Role), name="role"),)

    username: Mapped[str] = mapped_column(
        ForeignKey("users.username", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(16), primary_key=True)
