"""The FHIR resource store on both databases: versions, history, optimistic locking."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from fhir_profiles.search_values import extract
from storage import transaction
from storage.db.engine import alembic_config
from storage.fhir import VersionConflict, index_rows
from storage.fhir import store as fhir_store
from storage.models import FhirTokenDateIndex

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


def observation(oid: str, when: str) -> dict:
    codes = [
        {"system": "urn:yilian:lab-item:jhzx", "code": "GLU"},
        {"system": "http://loinc.org", "code": "2345-7"},
    ]
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": {"coding": codes, "text": "葡萄糖"},
        "effectiveDateTime": when,
    }


def pairs(session: Session) -> set[tuple]:
    rows = session.execute(
        select(
            FhirTokenDateIndex.resource_id,
            FhirTokenDateIndex.param,
            FhirTokenDateIndex.code,
            FhirTokenDateIndex.low,
            FhirTokenDateIndex.wide,
        )
    )
    return {tuple(row) for row in rows}


def test_code_date_pairs_follow_the_current_version(sessions: sessionmaker[Session]):
    first = observation("o1", "2026-11-20T08:00:00+08:00")
    moved = observation("o1", "2026-11-27T09:30:00+08:00")
    with transaction(sessions) as session:
        fhir_store.put(session, first, None, index=index_rows(first, extract(first)))
    with transaction(sessions) as session:
        fhir_store.put(session, moved, None, index=index_rows(moved, extract(moved)))
        found = pairs(session)
    assert found == {
        ("o1", "code+date", "GLU", "2026-11-27T01:30:00", False),
        ("o1", "code+date", "2345-7", "2026-11-27T01:30:00", False),
    }


def test_upgrading_pairs_the_observations_already_stored(engine: Engine):
    sessions = sessionmaker(engine)
    with transaction(sessions) as session:
        for n, day in enumerate(("20", "21", "22")):
            resource = observation(f"o{n}", f"2026-11-{day}")
            fhir_store.put(session, resource, None, index=index_rows(resource, extract(resource)))
        written = pairs(session)
    assert len(written) == 6
    config = alembic_config(engine)
    command.downgrade(config, "0010")
    command.upgrade(config, "head")
    with transaction(sessions) as session:
        assert pairs(session) == written
