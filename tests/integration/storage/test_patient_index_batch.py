"""Linking a member's existing patients at once (``yilian link-patients``) on both databases:
the one-by-one linking's rules over a whole set — numbers join, certain scores join, possible
ones are proposed and never merged, two different 身份证号 never meet, known persons stay."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from stdnum.cn import ric

from fhir_profiles.search_values import extract
from storage import import_alliance_file, open_platform
from storage.clinical import patient_batch
from storage.clinical import patient_match_review as review
from storage.clinical.patient_batch import link_unindexed
from storage.clinical.patient_matches import link, person_of
from storage.db import transaction
from storage.fhir import index_rows
from storage.fhir import store as fhir_store
from storage.identity_numbers import ID_CARD
from storage.models import AuditRecord, MpiLink
from storage.settings import Settings
from tests.conftest import DEMO_ALLIANCE

YILIAN = str(Path(sys.executable).with_name("yilian"))


def card(body: str) -> str:
    return body + ric.calc_check_digit(body + "?")


ZHANG = card("33070219800102123")
WANG_A, WANG_B = card("33070219800102101"), card("33070219800102103")


def patient(pid: str, name: str, id_card: str | None = None, phone: str | None = None) -> dict:
    resource: dict[str, Any] = {"resourceType": "Patient", "id": pid, "name": [{"text": name}],
                                "gender": "male", "birthDate": "1980-01-02"}  # fmt: skip
    if id_card:
        resource["identifier"] = [{"system": ID_CARD, "value": id_card}]
    if phone:
        resource["telecom"] = [{"system": "phone", "value": phone}]
    return resource


LOADED = [  # (owner, Patient): a member's patients loaded in bulk, not linked yet
    ("cz-sq", patient("n1", "张建国", ZHANG)),
    ("wcrm", patient("n2", "张建国", ZHANG[:6] + ZHANG[8:17])),  # the same number, 15 digits
    ("wcrm", patient("n3", "章建国", phone="13900000000")),
    ("wcdy", patient("n4", "章建国", phone="13900000000")),
    ("tx-wsy", patient("n5", "善丽华", phone="13805791234")),
    ("blq-wsy", patient("n6", "单丽华", phone="13805791234")),  # reads the same: possible
    ("tx-wsy", patient("n7", "王芳", WANG_A, "13700000000")),
    ("cz-sq", patient("n8", "王芳", WANG_B, "13700000000")),  # another number: another person
    ("wcrm", patient("n9", "王芳", phone="13700000000")),  # certain with both: joins one
]


@pytest.fixture
def alliance(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    import_alliance_file(sessions, DEMO_ALLIANCE)
    return sessions


def store(sessions: sessionmaker[Session], loaded: list[tuple[str, dict]]) -> None:
    with transaction(sessions) as session:
        for owner, resource in loaded:
            rows = index_rows(resource, extract(resource))
            fhir_store.put(session, resource, owner, index=rows, new=True)


def test_a_loaded_set_is_linked_as_one_by_one_linking_would(alliance: sessionmaker[Session]):
    sessions = alliance
    known = patient("k1", "张建国", ZHANG)
    store(sessions, [("tx-wsy", known)])
    with transaction(sessions) as session:
        link(session, "k1", "tx-wsy", known)  # known to the index before the load
        known_person = person_of(session, "k1")
    store(sessions, LOADED)

    report = link_unindexed(sessions)

    assert (report.records, report.skipped, report.possible) == (9, 0, 2)
    assert report.sources == {"id-card": 2, "score": 2, "new": 5}
    with transaction(sessions) as session:
        person = {pid: person_of(session, pid) for pid in ["k1"] + [p["id"] for _, p in LOADED]}
        assert person["n1"] == person["n2"] == known_person  # joined the known person
        assert person["n3"] == person["n4"] != known_person
        assert person["n5"] != person["n6"]  # homophones: proposed, not merged
        assert person["n7"] != person["n8"]
        assert person["n9"] in (person["n7"], person["n8"])
        assert len(set(person.values())) == 6
        queue = review.query_links(session, frozenset({"tx-wsy", "blq-wsy", "wcrm", "cz-sq"}))
        assert {(lk.patient_id, lk.person_id) for lk in queue} == {
            ("n6", person["n5"]),
            ("n9", ({person["n7"], person["n8"]} - {person["n9"]}).pop()),
        }
        actions = session.execute(
            select(AuditRecord.action, func.count())
            .where(AuditRecord.actor == "mpi")
            .group_by(AuditRecord.action)
        ).all()
        assert dict(actions) == {"mpi-link": 10, "mpi-possible-match": 2}  # k1's included

    again = link_unindexed(sessions)  # nothing new: nothing done
    assert again.records == 0
    with transaction(sessions) as session:
        assert session.scalar(select(func.count()).select_from(MpiLink)) == 12


def test_a_patient_the_worker_linked_meanwhile_keeps_its_link(
    alliance: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
):
    sessions = alliance
    store(sessions, LOADED[2:4])
    load = patient_batch._load

    def load_then_the_worker_links_n4(given: sessionmaker[Session]) -> Any:
        records = load(given)
        with transaction(sessions) as session:  # a write of n4 during the run
            link(session, "n4", "wcdy", LOADED[3][1])
        return records

    monkeypatch.setattr(patient_batch, "_load", load_then_the_worker_links_n4)
    report = link_unindexed(sessions)

    assert (report.records, report.skipped) == (2, 1)
    with transaction(sessions) as session:
        links = session.execute(select(MpiLink.patient_id, MpiLink.made_by)).all()
        assert sorted(links) == [("n3", "mpi"), ("n4", "mpi")]  # one each, nothing doubled
        made = select(func.count()).where(AuditRecord.action == "mpi-link")
        assert session.scalar(made) == 2


def test_the_command_links_a_bulk_load(tmp_path: Path):
    platform = open_platform(Settings(data_dir=tmp_path))
    try:
        import_alliance_file(platform.sessions, DEMO_ALLIANCE)
        store(platform.sessions, LOADED[:4])
    finally:
        platform.close()
    done = subprocess.run([YILIAN, "link-patients", "--data-dir", str(tmp_path)],
                          capture_output=True, text=True, check=True)  # fmt: skip
    assert "4 patients linked (1 id-card, 2 new, 1 score) into 2 persons" in done.stdout
    platform = open_platform(Settings(data_dir=tmp_path))
    try:
        with transaction(platform.sessions) as session:
            assert person_of(session, "n1") == person_of(session, "n2")
            assert person_of(session, "n3") == person_of(session, "n4")
    finally:
        platform.close()
