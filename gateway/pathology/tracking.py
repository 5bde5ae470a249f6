"""Where a commissioned pathology specimen is (标本流转), as its ``specimen-tracking``
extension says — read by the specimens' steps (:mod:`gateway.workflow.specimens`) and by the
reading of the case (:mod:`gateway.workflow.pathology_reading`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from fhir_profiles.profiles import CANONICAL
from storage.fhir import StoredResource, referencing
from storage.policy import fhir_viewer

TRACKING = f"{CANONICAL}/StructureDefinition/specimen-tracking"
TRACKING_STEP = f"{CANONICAL}/CodeSystem/specimen-tracking"


def step_of(content: dict[str, Any]) -> str:
    for extension in content.get("extension", []):
        if extension.get("url") == TRACKING:
            for part in extension.get("extension", []):
                if part.get("url") == "step":
                    return str(part.get("valueCoding", {}).get("code"))
    return "labelled"


def of_order(session: Session, order: StoredResource, seen_by: str) -> list[StoredResource]:
    """The specimens of a pathology order, as organization ``seen_by`` sees them."""
    subject = (order.content or {}).get("subject", {}).get("reference")
    wanted = {"reference": f"ServiceRequest/{order.id}"}
    found = referencing(
        session, "Specimen", "subject", [str(subject)], fhir_viewer(session, seen_by)
    )
    return [s for s in found if wanted in (s.content or {}).get("request", [])]
