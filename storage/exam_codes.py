"""The code systems an exam is named in — DICOM modalities (``DCM``), LOINC — and what an
order's codes say in them (:func:`order_modality`); read by the worklists, the due times, the
recognition catalogue and the lab bridge alike."""

from __future__ import annotations

from typing import Any

DCM = "http://dicom.nema.org/resources/ontology/DCM"  # DICOM's codes: modalities
LOINC = "http://loinc.org"


def order_modality(order: dict[str, Any]) -> str | None:
    """The DICOM modality an order asks for: a DCM coding of its code, or of a category."""
    concepts = [order.get("code") or {}, *order.get("category", [])]
    for concept in concepts:
        for coding in concept.get("coding", []):
            if coding.get("system") == DCM and isinstance(coding.get("code"), str):
                return str(coding["code"])
    return None
