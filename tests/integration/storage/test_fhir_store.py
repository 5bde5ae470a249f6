"""The FHIR resource store on both databases: versions, history, optimistic locking."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from storage import fhir_store, transaction
from storage.fhir_store import VersionConflict

ENDPOINT = {"resourceType": "Endpoint", "id": "e1", "status": "active", "address": "http://a"}


def test_versions_and_history(sessions: sessionmaker[Session]):
    with transaction(sessions) as session:
        first = fhir_store.put(session, ENDPOINT, None)
    with transaction(sessions) as session:
        second = fhir_store.put(session, {**ENDPOINT, "address": "http://b"}, None, if_match=1)
    assert (first.version_id, second.version_id) == (1, 2)
    assert second.content is not None
    assert second.content["meta"]["versionId"] == "2"
    assert second.content["meta"]["lastUpdated"].endswith("Z")
    with transaction(sessions) as session:
        current = fhir_store.read(session, "Endpoint", "e1")
        old = fhir_store.vread(session, "Endpoint", "e1", 1)
        versions = fhir_store.history(session, "Endpoint", "e1")
        missing = fhir_store.read(session, "Endpoint", "nope")
    assert current is not None
    assert current.content is not None
    assert current.content["address"] == "http://b"
    assert old is not None
    assert old.content is not None
    assert old.content["address"] == "http://a"
    assert [v.version_id for v in versions] == [2, 1]
    assert missing is None


def test_a_stale_writer_is_refused_and_changes_nothing(sessions: sessionmaker[Session]):
    with transaction(sessions) as session:
        fhir_store.put(session, ENDPOINT, None)
        fhir_store.put(session, {**ENDPOINT, "address": "http://b"}, None)
    with pytest.raises(VersionConflict), transaction(sessions) as session:
        fhir_store.put(session, {**ENDPOINT, "address": "http://stale"}, None, if_match=1)
    with transaction(sessions) as session:
        current = fhir_store.read(session, "Endpoint", "e1")
        versions = fhir_store.history(session, "Endpoint", "e1")
    assert current is not None
    assert current.content is not None
    assert current.content["address"] == "http://b"
    assert len(versions) == 2
