"""Yilian's own code systems and value sets (exam categories, reading work, reasons to repeat
instead of recognising a result) kept in the FHIR store as shared resources, so a HIS finds them
like any terminology: ``GET /fhir/CodeSystem?url=http://yilian.example/fhir/CodeSystem/…``."""

from __future__ import annotations

import logging

from fhir_profiles.profiles import terminology
from gateway.fhir.publishing import publish
from storage.platform import Platform

log = logging.getLogger("yilian.fhir")


def publish_terminology(platform: Platform) -> None:
    """Write each definition that is missing or changed (at gateway start; idempotent)."""
    publish(platform, "terminology", lambda _session: terminology())
