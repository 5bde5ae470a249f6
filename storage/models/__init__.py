"""Every table of Yilian; importing this module registers them all on ``Base.metadata``."""

from storage.models.audit import AuditRecord
from storage.models.auth import SigningKey
from storage.models.base import Base, UTCDateTime, utcnow
from storage.models.dicom import (
    ConflictKind,
    DicomConflict,
    DicomDelivery,
    DicomInstance,
    DicomPatient,
    DicomRoute,
    DicomSeries,
    DicomStudy,
)
from storage.models.fhir import FhirResource, FhirResourceVersion
from storage.models.objects import StoredObject
from storage.models.outbox import OutboxEvent, OutboxState
from storage.models.registry import (
    AEKind,
    AETitle,
    Alliance,
    AllianceKind,
    AllianceMember,
    ApiClient,
    Centre,
    CentreKind,
    CentreServed,
    HL7Encoding,
    LabelledEnum,
    MllpPeer,
    Organization,
    OrgKind,
    Role,
    User,
    UserRole,
)

__all__ = [
    "AEKind",
    "AETitle",
    "Alliance",
    "AllianceKind",
    "AllianceMember",
    "ApiClient",
    "AuditRecord",
    "Base",
    "Centre",
    "CentreKind",
    "CentreServed",
    "ConflictKind",
    "DicomConflict",
    "DicomDelivery",
    "DicomInstance",
    "DicomPatient",
    "DicomRoute",
    "DicomSeries",
    "DicomStudy",
    "FhirResource",
    "FhirResourceVersion",
    "HL7Encoding",
    "LabelledEnum",
    "MllpPeer",
    "OrgKind",
    "Organization",
    "OutboxEvent",
    "OutboxState",
    "Role",
    "SigningKey",
    "StoredObject",
    "UTCDateTime",
    "User",
    "UserRole",
    "utcnow",
]
