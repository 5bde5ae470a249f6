"""The access log as FHIR AuditEvent (read and search only: the server records them).

Every access to patient data leaves an ``audit_records`` row in the transaction that made it
(DIMSE, DICOMweb, FHIR, HL7); this module shows those rows as R4 AuditEvents.  An organization
sees the records of what its own actors did (the lead hospital: also those of the members its
centres serve).  Search: ``date`` (with prefixes), ``agent`` (``Organization/id`` or the
actor's name), ``action`` (C R U D E), ``outcome`` (0 4 8), ``_count``, ``_offset``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fhir_profiles.search_values import date_range
from gateway.errors import BadRequest
from gateway.fhir.http import whole_number
from storage.audit import AuditQuery
from storage.fhir import instant
from storage.models import AuditRecord

SEARCH_PARAMETERS = {"date": "date", "agent": "reference", "action": "token", "outcome": "token"}
_DICOM = "http://dicom.nema.org/resources/ontology/DCM"
_REST = "http://hl7.org/fhir/restful-interaction"
_V2 = "http://terminology.hl7.org/CodeSystem/v2-0076"  # HL7 v2 message types
# AuditEvent.action of the recorded actions (everything else is a read, R).
_LETTERS = {
    "C": frozenset({"C-STORE", "STOW-RS", "create"}),
    "U": frozenset({"update", "patch"}),
    "D": frozenset({"delete"}),
    "E": frozenset({"C-FIND", "QIDO-RS", "search-type", "everything", "history-type"}),
}
# DICOM audit event types (PS3.15 A.5.3) by the start of the DICOM action.
_DICOM_TYPES = {
    "C-STORE": ("110104", "DICOM Instances Transferred"),
    "STOW-RS": ("110104", "DICOM Instances Transferred"),
    "C-FIND": ("110112", "Query"),
    "QIDO-RS": ("110112", "Query"),
    "C-MOVE": ("110106", "Export"),
    "C-GET": ("110106", "Export"),
    "WADO-RS": ("110106", "Export"),
}
_OUTCOMES = {"success": "0", "partial": "4", "not_found": "4", "denied": "8", "failure": "8"}


def _letter(action: str) -> str:
    return next((letter for letter, names in _LETTERS.items() if action in names), "R")


def as_audit_event(row: AuditRecord) -> dict[str, Any]:
    dicom = _DICOM_TYPES.get(row.action.split(" ")[0])
    if dicom is not None:
        event_type = {"system": _DICOM, "code": dicom[0], "display": dicom[1]}
    else:
        event_type = {
            "system": "http://terminology.hl7.org/CodeSystem/audit-event-type",
            "code": "rest",
            "display": "RESTful Operation",
        }
    agent: dict[str, Any] = {
        "who": {"identifier": {"value": row.actor}, "display": row.actor},
        "requestor": True,
    }
    if row.actor_org_id:
        agent["who"]["reference"] = f"Organization/{row.actor_org_id}"
    event: dict[str, Any] = {
        "resourceType": "AuditEvent",
        "id": str(row.id),
        "type": event_type,
        "subtype": [_subtype(row, dicom is not None)],
        "action": _letter(row.action),
        "recorded": instant(row.recorded_at),
        "outcome": _OUTCOMES.get(row.outcome, "8"),
        "outcomeDesc": row.outcome,
        "agent": [agent],
        "source": {"site": row.channel, "observer": {"display": "Yilian 医联"}},
    }
    entities = _entities(row.entities or {})
    if entities:
        event["entity"] = entities
    return event


def _subtype(row: AuditRecord, dicom: bool) -> dict[str, str]:
    """The DICOM or REST interaction; for HL7 v2 the message type applied (ORU^R01)."""
    if row.channel == "hl7":
        return {"system": _V2, "code": str((row.entities or {}).get("message_type", ""))}
    return {"system": _DICOM if dicom else _REST, "code": row.action}


def _entities(touched: dict[str, Any]) -> list[dict[str, Any]]:
    entities = []
    if touched.get("resource_type") and touched.get("id"):
        what = {"reference": f"{touched['resource_type']}/{touched['id']}"}
        entities.append({"what": what})
    entities += [{"what": {"reference": target}} for target in touched.get("resources", [])]
    for uid in touched.get("studies", []) or ([touched["study"]] if "study" in touched else []):
        identifier = {"system": "urn:dicom:uid", "value": f"urn:oid:{uid}"}
        entities.append({"what": {"identifier": identifier}})
    return entities


def parse_query(params: list[tuple[str, str]], orgs: frozenset[str]) -> AuditQuery:
    query = AuditQuery(orgs=orgs)
    for name, value in params:
        if name == "date":
            prefix, text = (value[:2], value[2:]) if value[:2].isalpha() else ("eq", value)
            span = date_range(text)
            if span is None or prefix not in ("eq", "ge", "gt", "le", "lt"):
                raise BadRequest(f"date: {value!r} is not a FHIR date with eq/ge/gt/le/lt")
            low, high = (datetime.fromisoformat(s).replace(tzinfo=UTC) for s in span)
            if prefix in ("eq", "ge", "gt"):
                query.since = max(filter(None, (query.since, low if prefix != "gt" else high)))
            if prefix in ("eq", "le", "lt"):
                query.until = min(filter(None, (query.until, high if prefix != "lt" else low)))
        elif name == "agent":
            query.actor_org = value.removeprefix("Organization/") if "/" in value else None
            query.actor = None if "/" in value else value
        elif name == "action":
            if value not in ("C", "R", "U", "D", "E"):
                raise BadRequest("action is one of C R U D E")
            if value == "R":
                query.not_actions = sorted(set().union(*_LETTERS.values()))
            else:
                query.actions = sorted(_LETTERS[value])
        elif name == "outcome":
            query.outcomes = [o for o, code in _OUTCOMES.items() if code == value]
        elif name in ("_count", "_offset"):
            number = whole_number(value)
            if number is None:
                raise BadRequest(f"{name} must be a whole number")
            setattr(query, "limit" if name == "_count" else "offset", min(number, 1000))
        elif name not in ("_format", "_pretty"):
            raise BadRequest(f"AuditEvent cannot be searched by {name!r}")
    return query
