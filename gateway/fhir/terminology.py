"""Yilian's own code systems and value sets (exam categories, reading work, reasons to repeat
instead of recognising a result) kept in the FHIR store as shared resources, so a HIS finds them
like any terminology: ``GET /fhir/CodeSystem?url=http://yilian.example/fhir/CodeSystem/…``."""

from __future__ import annotations

import logging

from sqlalchemy.exc import IntegrityError

from fhir_profiles.profiles import terminology
from gateway.fhir.interactions import store_if_changed
from storage.db import transaction
from storage.errors import StorageError
from storage.platform import Platform

log = logging.getLogger("yilian.fhir")


def publish_terminology(platform: Platform) -> None:
    """Write each definition that is missing or changed (at gateway start; idempotent)."""
    try:
        with transaction(platform.sessions) as session:
            written = [store_if_changed(session, resource, None) for resource in terminology()]
    except IntegrityError:
        log.info("terminology published by another replica at the same time")
        return
    except StorageError as exc:
        log.warning("terminology not published (%s); the next start will", exc)
        return
    if any(written):
        log.info("published %d Yilian code systems and value sets", sum(map(bool, written)))
