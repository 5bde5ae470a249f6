"""Critical lab values (危急值) raised as alerts: a FHIR Communication to the organization that
must act, with the critical-alert register (deadline, escalation, read-back) of
``storage.clinical.critical_alerts`` — the mechanism imaging and ECG critical findings use as
well."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from fhir_profiles.validation import validate
from lab_bridge.apply import Critical, keep
from storage.clinical.critical_alerts import alert_message, raise_alert
from storage.fhir import new_id


def summary(result: dict[str, Any]) -> str:
    """``钾 6.8 mmol/L（危急高值，参考 3.5-5.3）``: what is read out and read back."""
    name = result["code"].get("text") or result["code"]["coding"][0].get("code", "")
    value = result.get("valueQuantity") or {}
    shown = f"{value.get('comparator', '')}{value.get('value', '')} {value.get('unit', '')}"
    if "valueString" in result:
        shown = result["valueString"]
    flags = "、".join(i.get("text", "") for i in result.get("interpretation", []))
    ranges = [r.get("text") for r in result.get("referenceRange", []) if r.get("text")]
    detail = "，".join(p for p in (flags, f"参考 {ranges[0]}" if ranges else "") if p)
    return f"{name} {shown.strip()}" + (f"（{detail}）" if detail else "")


def raise_critical_results(
    session: Session, critical: list[Critical], lab_org: str, deadline: timedelta
) -> list[str]:
    """One alert per critical result; the ids of their Communications."""
    raised = []
    for item in critical:
        result = item.result.content
        assert result is not None
        text = summary(result)
        communication = alert_message(
            alert_id=new_id(), subject=result["subject"],
            about=[f"Observation/{item.result.id}"], recipient_org_id=item.recipient,
            source_org_id=lab_org, text=text, based_on=result.get("basedOn"),
        )  # fmt: skip
        problems = validate(communication)
        assert not problems, problems  # built here: a problem is a bug, not the sender's
        keep(session, communication, lab_org, new=True)
        raise_alert(
            session,
            alert_id=communication["id"],
            kind="lab",
            source_org_id=lab_org,
            recipient_org_id=item.recipient,
            subject=result["subject"].get("reference"),
            about=f"Observation/{item.result.id}",
            summary=text,
            deadline=deadline,
        )
        raised.append(communication["id"])
    return raised
