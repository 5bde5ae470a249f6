"""One patient across members (MPI): the same 身份证号 links two clinics' records of one person
(a 15-digit old number upgraded), a wrong check character links nothing, the same 居民健康卡号
links, a near-duplicate without an ID waits for review and is not merged, another person
stays apart; editing a record relinks it without duplicating anything."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from storage.db import transaction
from storage.models import AuditRecord, MpiLink
from tests.integration.dicomweb.conftest import Gateway, start_gateway
from tests.integration.fhir.patient_index_setup import linked, person, registered
from tests.integration.fhir.test_rest import call
from tests.servers import drain_outbox

ID_18 = "330702198001021238"  # 1980-01-02, male
ID_15 = "330702800102123"  # the same person's first-generation card


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, demo_sqlite: Path) -> Iterator[Gateway]:
    with start_gateway(tmp_path_factory.mktemp("mpi"), demo_sqlite) as running:
        yield running


def links(gateway: Gateway, patient: dict) -> list[tuple[str, str, str]]:
    with transaction(gateway.node.platform.sessions) as session:
        rows = session.execute(
            select(MpiLink.person_id, MpiLink.grade, MpiLink.source).where(
                MpiLink.patient_id == patient["id"]
            )
        )
        return sorted(tuple(row) for row in rows)


def test_one_person_at_two_clinics_with_the_same_id_card_is_linked(gateway: Gateway):
    at_txwsy = registered(gateway, "his-tx-wsy", "张建国", "1980-01-02", "male", id_card=ID_18)
    at_czsq = registered(gateway, "his-cz-sq", "张建国", "1980-01-02", "male", id_card=ID_15)
    assert at_txwsy["identifier"][0]["value"] != at_czsq["identifier"][0]["value"]
    assert linked(gateway, at_czsq) == {at_txwsy["id"], at_czsq["id"]}
    assert linked(gateway, at_txwsy) == {at_txwsy["id"], at_czsq["id"]}
    assert links(gateway, at_czsq) == [(person(gateway, at_txwsy), "MATCH", "id-card")]
    with transaction(gateway.node.platform.sessions) as session:
        made = session.scalars(select(AuditRecord).where(AuditRecord.action == "mpi-link")).all()
    assert {r.entities["id"] for r in made} >= {at_txwsy["id"], at_czsq["id"]}
    assert all(ID_18 not in str(r.entities) for r in made)  # no identity number in the log


def test_a_wrong_check_character_links_nothing_by_id(gateway: Gateway):
    first = registered(gateway, "his-tx-wsy", "李秀英", "1965-03-15", id_card="330702196503150022")
    wrong = registered(gateway, "his-wcrm", "王秀兰", "1972-08-09", id_card="330702196503150021")
    assert linked(gateway, wrong) == {wrong["id"]}
    assert linked(gateway, first) == {first["id"]}


def test_the_same_health_card_links(gateway: Gateway):
    one = registered(gateway, "his-sj-sq", "陈美玲", "1990-08-07", health_card="H33070100001")
    two = registered(gateway, "his-wcdy", "陈美玲", "1990-08-07", health_card="h3307 0100001")
    assert linked(gateway, two) == {one["id"], two["id"]}
    assert links(gateway, two)[0][1:] == ("MATCH", "health-card")


def test_a_near_duplicate_without_an_id_is_queued_for_review_not_merged(gateway: Gateway):
    # 单 reads shan as a surname: the clerk at the other clinic wrote 善.
    first = registered(gateway, "his-tx-wsy", "单丽华", "1975-06-01", phone="13805791234")
    second = registered(gateway, "his-blq-wsy", "善丽华", "1975-06-01", phone="138 0579 1234")
    assert linked(gateway, second) == {second["id"]}
    assert linked(gateway, first) == {first["id"]}
    grades = {grade for _, grade, _ in links(gateway, second)}
    assert grades == {"MATCH", "POSSIBLE_MATCH"}
    possible = [row for row in links(gateway, second) if row[1] == "POSSIBLE_MATCH"]
    assert possible == [(person(gateway, first), "POSSIBLE_MATCH", "score")]


def test_every_field_agreeing_without_an_id_is_a_certain_match(gateway: Gateway):
    fields = {"phone": "13905790001", "address": "浙江省金华市婺城区八一北街 12 号"}
    one = registered(gateway, "his-cd-sq", "曾小贤", "1988-11-11", "male", **fields)
    two = registered(gateway, "his-wcrm", "曾小贤", "1988-11-11", "male", **fields)
    assert linked(gateway, two) == {one["id"], two["id"]}
    assert links(gateway, two)[0][1:] == ("MATCH", "score")


def test_a_different_person_is_not_linked(gateway: Gateway):
    # Same birth date, phone and address: a relative, not the same person.
    fields = {"phone": "13905790002", "address": "婺城区人民路 5 号"}
    registered(gateway, "his-tx-wsy", "刘桂英", "1990-02-03", **fields)
    daughter = registered(gateway, "his-cz-sq", "王晓雨", "1990-02-03", **fields)
    assert linked(gateway, daughter) == {daughter["id"]}
    assert [grade for _, grade, _ in links(gateway, daughter)] == ["MATCH"]


def test_two_valid_id_cards_that_differ_are_two_people_whatever_else_agrees(gateway: Gateway):
    fields = {"phone": "13905790003", "address": "婺城区人民路 7 号"}
    one = registered(gateway, "his-tx-wsy", "方志芳", "1990-02-03", id_card="330702199002030026",
                     **fields)  # fmt: skip
    two = registered(gateway, "his-cz-sq", "方志芳", "1990-02-03", id_card="330702199002030042",
                     **fields)  # fmt: skip
    assert linked(gateway, two) == {two["id"]}
    assert linked(gateway, one) == {one["id"]}
    assert [grade for _, grade, _ in links(gateway, two)] == ["MATCH"]


def test_an_edited_record_is_relinked_once_and_a_repeated_event_changes_nothing(gateway: Gateway):
    first = registered(gateway, "his-tx-wsy", "周雪梅", "1970-04-04", id_card="330702197004040042")
    other = registered(gateway, "his-fc-wsy", "周雪梅", "1970-04-04")
    before = links(gateway, other)
    drain_outbox(gateway.node.platform)
    assert links(gateway, other) == before
    edited = {**other, "identifier": [*other["identifier"],
              {"system": "urn:oid:2.16.156.10011.1.3", "value": "330702197004040042"}]}  # fmt: skip
    answer = call(gateway, "PUT", f"/Patient/{other['id']}", "his-fc-wsy", body=edited)
    assert answer.status_code == 200, answer.text
    drain_outbox(gateway.node.platform)
    assert linked(gateway, other) == {first["id"], other["id"]}
    assert [grade for _, grade, _ in links(gateway, other)] == ["MATCH"]


def test_a_record_with_nothing_to_compare_is_a_person_of_its_own(gateway: Gateway):
    answer = call(gateway, "POST", "/Patient", "his-tx-wsy",
                  body={"resourceType": "Patient", "gender": "unknown"})  # fmt: skip
    assert answer.status_code == 201, answer.text
    drain_outbox(gateway.node.platform)
    assert linked(gateway, answer.json()) == {answer.json()["id"]}
    assert [grade for _, grade, _ in links(gateway, answer.json())] == ["MATCH"]


def test_a_deleted_record_is_no_longer_linked(gateway: Gateway):
    kept = registered(gateway, "his-tx-wsy", "吴海燕", "1983-03-03", id_card="330702198303030025")
    gone = registered(gateway, "his-wcrm", "吴海燕", "1983-03-03", id_card="330702198303030025")
    assert linked(gateway, kept) == {kept["id"], gone["id"]}
    assert call(gateway, "DELETE", f"/Patient/{gone['id']}", "his-wcrm").status_code in (200, 204)
    assert linked(gateway, kept) == {kept["id"]}
