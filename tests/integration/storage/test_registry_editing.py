"""The registry changed as the admin API changes it, on SQLite and PostgreSQL: read back as an
alliance document it re-imports to no change; a change is all or nothing, whether the alliance
check or the database refuses it; each change leaves one audit record."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from storage import import_alliance_file
from storage.db import transaction
from storage.models import AETitle, AuditRecord, Centre
from storage.policy import administration
from storage.registry import (
    AllianceProblems,
    Edit,
    RegistryConflict,
    check_alliance,
    edit_registry,
    registry_document,
)
from storage.registry.alliance_import import apply_alliance
from tests.conftest import DEMO_ALLIANCE

NEW_AE = {"ae_title": "TX_US1", "organization": "tx-wsy", "kind": "modality"}


@pytest.fixture
def demo(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    import_alliance_file(sessions, DEMO_ALLIANCE)
    return sessions


def edit(sessions: sessionmaker[Session], *edits: Edit) -> None:
    with transaction(sessions) as session:
        admin = administration(session, "jhzx", ("admin",))
        assert admin is not None
        edit_registry(session, admin, list(edits), "admin")


def counts(sessions: sessionmaker[Session]) -> tuple[int, int]:
    with transaction(sessions) as session:
        return (
            session.scalar(select(func.count()).select_from(AETitle)) or 0,
            session.scalar(select(func.count()).select_from(AuditRecord)) or 0,
        )


def test_the_registry_read_back_as_a_document_reimports_to_no_change(demo):
    with transaction(demo) as session:
        report = apply_alliance(session, check_alliance(registry_document(session)))
    assert not report.changed, report.summary()


def test_a_change_the_check_refuses_writes_nothing(demo):
    before = counts(demo)
    bad_user = {"username": "x", "name": "X", "organization": "tx-wsy", "roles": ["nobody"],
                "password": "long-enough"}  # fmt: skip
    with pytest.raises(AllianceProblems) as refused:
        edit(demo, Edit("ae_titles", None, NEW_AE), Edit("users", None, bad_user))
    assert refused.value.problems[0].startswith("users[")
    assert "field 'roles.0'" in refused.value.problems[0]
    assert counts(demo) == before

    edit(demo, Edit("ae_titles", None, NEW_AE))
    assert counts(demo) == (before[0] + 1, before[1] + 1)


def test_a_change_the_database_refuses_writes_nothing(demo):
    """A second imaging centre in one alliance passes the file check but not the database."""
    before = counts(demo)
    centre = {"id": "jhzx-imaging-2", "name": "第二影像中心", "kind": "imaging",
              "alliance": "jhzx-ylt", "organization": "jhzx"}  # fmt: skip
    with pytest.raises(RegistryConflict) as refused:
        edit(demo, Edit("ae_titles", None, NEW_AE), Edit("centres", None, centre))
    assert "conflicts with data already in the database" in refused.value.problems[0]
    assert counts(demo) == before
    with transaction(demo) as session:
        assert session.get(Centre, "jhzx-imaging-2") is None


@pytest.mark.parametrize(
    ("org", "roles", "alliances", "orgs"),
    [
        ("jhzx", ("admin",), {"jhzx-ylt"}, "all nine members"),
        ("tx-wsy", ("admin",), set(), {"tx-wsy"}),
        ("jhzx", ("reader", "head"), None, None),
    ],
    ids=["lead-admin", "clinic-admin", "not-admin"],
)
def test_who_administers_what(demo, org, roles, alliances, orgs):
    with transaction(demo) as session:
        found = administration(session, org, roles)
        members = {m["id"] for m in registry_document(session)["organizations"]}
    if alliances is None:
        assert found is None
        return
    assert found is not None
    assert set(found.alliances) == alliances
    assert set(found.orgs) == (members if orgs == "all nine members" else orgs)
    assert len(members) == 9
