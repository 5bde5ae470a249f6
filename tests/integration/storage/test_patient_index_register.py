"""The patient index's register on both databases (SQLite, PostgreSQL): linking, a person's
decisions (link, unlink, merge) and the search expansion ``:mdm`` as SQL."""

from __future__ import annotations

from sqlalchemy import literal, select
from sqlalchemy.orm import Session, sessionmaker

from storage.clinical import patient_match_review as review
from storage.clinical.patient_matches import link, linked_patients, person_of
from storage.db import transaction
from storage.fhir.criteria import same_person
from storage.identity_numbers import ID_CARD
from storage.models import AuditRecord

ADMIN = {"channel": "fhir", "actor": "admin", "actor_org_id": "jhzx"}


def patient(name: str, id_card: str | None = None, phone: str | None = None) -> dict:
    resource = {"resourceType": "Patient", "name": [{"text": name}], "gender": "male",
                "birthDate": "1980-01-02"}  # fmt: skip
    if id_card:
        resource["identifier"] = [{"system": ID_CARD, "value": id_card}]
    if phone:
        resource["telecom"] = [{"system": "phone", "value": phone}]
    return resource


def test_link_unlink_merge_and_the_mdm_expansion(sessions: sessionmaker[Session]):
    with transaction(sessions) as session:
        link(session, "a", "tx-wsy", patient("张建国", "330702198001021238"))
        link(session, "b", "cz-sq", patient("张建国", "330702800102123"))
        link(session, "c", "wcrm", patient("章建国", phone="13900000000"))
        link(session, "d", "wcdy", patient("章建国", phone="13900000000"))
    with transaction(sessions) as session:
        assert person_of(session, "a") == person_of(session, "b")  # 15 digits upgraded
        assert person_of(session, "c") == person_of(session, "d")  # everything but the ID agrees
        assert person_of(session, "a") != person_of(session, "c")
        assert linked_patients(session, "a") == {"a"}  # no Patient resource of b is stored here
        match = select(literal(1)).where(same_person(literal("Patient/b"), "a"))
        assert session.scalar(match) == 1
        other = select(literal(1)).where(same_person(literal("Patient/c"), "a"))
        assert session.scalar(other) is None

        review.reject(session, "b", str(person_of(session, "a")), ADMIN)
    with transaction(sessions) as session:
        assert person_of(session, "b") != person_of(session, "a")
        link(session, "b", "cz-sq", patient("张建国", "330702800102123"))  # written again
    with transaction(sessions) as session:
        assert person_of(session, "b") != person_of(session, "a")  # the decision stands
        moved = review.merge(session, str(person_of(session, "b")),
                             str(person_of(session, "a")), ADMIN)  # fmt: skip
        assert moved == {"b"}
    with transaction(sessions) as session:
        assert person_of(session, "b") == person_of(session, "a")
        actions = session.scalars(
            select(AuditRecord.action).where(AuditRecord.actor == "admin")
        ).all()
        assert sorted(actions) == ["mpi-link", "mpi-merge", "mpi-unlink"]


def test_a_proposal_about_a_person_nobody_is_any_more_leaves_the_queue(
    sessions: sessionmaker[Session],
):
    orgs = frozenset({"tx-wsy", "blq-wsy", "wcrm"})
    with transaction(sessions) as session:
        link(session, "e", "tx-wsy", patient("单丽华", phone="13805791234"))
        link(session, "f", "blq-wsy", patient("善丽华", phone="13805791234"))
        link(session, "g", "wcrm", patient("欧阳修远"))
        old = person_of(session, "e")
        assert [(lk.patient_id, lk.person_id) for lk in review.query_links(session, orgs)] == [
            ("f", old)
        ]
        review.confirm(session, "e", str(person_of(session, "g")), ADMIN)  # e was g all along
        assert review.query_links(session, orgs) == []
