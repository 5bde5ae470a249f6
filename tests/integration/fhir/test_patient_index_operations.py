"""The patient index over FHIR: ``Patient/$match`` as IHE PDQm answers (searchset, score,
match-grade), ``Patient/$ihe-pix`` as PIXm answers (and its three refusals), and the review of
``POSSIBLE_MATCH`` links by an administrator — link, unlink, merge, each audited; a clinic sees
only the records its organization may see, and may not review."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from gateway.fhir.storing import store
from storage.db import transaction
from storage.fhir import new_id
from storage.identity_numbers import ID_CARD
from storage.models import AuditRecord
from tests.integration.dicomweb.conftest import Gateway, start_gateway
from tests.integration.fhir.patient_index_setup import linked, person, registered
from tests.integration.fhir.test_rest import call
from tests.servers import drain_outbox

MATCH_GRADE = "http://hl7.org/fhir/StructureDefinition/match-grade"
ID_18 = "330702198001021238"
LEAD, CLINIC, OTHER_CLINIC = "his-jhzx", "his-tx-wsy", "his-cz-sq"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, demo_sqlite: Path) -> Iterator[Gateway]:
    with start_gateway(tmp_path_factory.mktemp("mpi-ops"), demo_sqlite) as running:
        yield running


@pytest.fixture(scope="module")
def zhang(gateway: Gateway) -> tuple[dict, dict]:
    """张建国 at 汤溪 (18-digit 身份证号) and at 城中社区 (his old 15-digit one)."""
    return (
        registered(gateway, CLINIC, "张建国", "1980-01-02", "male", id_card=ID_18),
        registered(gateway, OTHER_CLINIC, "张建国", "1980-01-02", "male",
                   id_card="330702800102123"),
    )  # fmt: skip


def match(gateway: Gateway, who: str, patient: dict, **more) -> dict:
    parameters = [{"name": "resource", "resource": patient}]
    for name, value in more.items():
        key = "valueBoolean" if isinstance(value, bool) else "valueInteger"
        parameters.append({"name": name, key: value})
    answer = call(gateway, "POST", "/Patient/$match", who,
                  body={"resourceType": "Parameters", "parameter": parameters})  # fmt: skip
    assert answer.status_code == 200, answer.text
    return answer.json()


def pix(gateway: Gateway, who: str, source: str, *targets: str):
    query = urlencode([("sourceIdentifier", source), *(("targetSystem", t) for t in targets)])
    return call(gateway, "GET", f"/Patient/$ihe-pix?{query}", who)


def record_number(patient: dict) -> tuple[str, str]:
    first = patient["identifier"][0]
    return first["system"], first["value"]


def audited(gateway: Gateway, action: str) -> list[AuditRecord]:
    with transaction(gateway.node.platform.sessions) as session:
        return list(session.scalars(select(AuditRecord).where(AuditRecord.action == action)))


def test_match_answers_a_searchset_with_score_and_match_grade(gateway: Gateway, zhang):
    asked = {"resourceType": "Patient", "identifier": [{"system": ID_CARD, "value": ID_18}],
             "name": [{"text": "张建国"}], "birthDate": "1980-01-02", "gender": "male"}  # fmt: skip
    bundle = match(gateway, LEAD, asked)
    assert bundle["type"] == "searchset"
    assert {e["resource"]["id"] for e in bundle["entry"]} == {p["id"] for p in zhang}
    for entry in bundle["entry"]:
        assert entry["search"]["mode"] == "match"
        assert entry["search"]["score"] == 1
        assert entry["search"]["extension"] == [{"url": MATCH_GRADE, "valueCode": "certain"}]
        assert entry["fullUrl"].endswith(f"/Patient/{entry['resource']['id']}")
    assert len(match(gateway, LEAD, asked, count=1)["entry"]) == 1
    # The clinic sees its own record only.
    assert [e["resource"]["id"] for e in match(gateway, CLINIC, asked)["entry"]] == [zhang[0]["id"]]


def test_match_grades_a_similar_record_possible_and_only_certain_drops_it(gateway: Gateway):
    kept = registered(gateway, CLINIC, "单丽华", "1975-06-01", phone="13805791234")
    phone = [{"system": "phone", "value": "13805791234"}]
    asked = {"resourceType": "Patient", "name": [{"text": "善丽华"}], "birthDate": "1975-06-01",
             "gender": "female", "telecom": phone}  # fmt: skip
    entries = match(gateway, LEAD, asked)["entry"]
    assert [e["resource"]["id"] for e in entries] == [kept["id"]]
    assert 0.5 <= entries[0]["search"]["score"] < 0.98
    assert entries[0]["search"]["extension"][0]["valueCode"] in ("possible", "probable")
    assert match(gateway, LEAD, asked, onlyCertainMatches=True).get("entry", []) == []


def test_match_refuses_what_is_not_a_patient(gateway: Gateway):
    body = {"resourceType": "Parameters", "parameter": [{"name": "count", "valueInteger": 3}]}
    answer = call(gateway, "POST", "/Patient/$match", LEAD, body=body)
    assert answer.status_code == 400
    assert answer.json()["resourceType"] == "OperationOutcome"
    malformed = {"resourceType": "Parameters", "parameter": [
        {"name": "resource", "resource": {"resourceType": "Patient", "name": "张三"}}]}  # fmt: skip
    answer = call(gateway, "POST", "/Patient/$match", LEAD, body=malformed)
    assert answer.status_code == 422
    assert answer.json()["issue"][0]["expression"]


def test_pix_gives_the_other_members_identifiers_of_the_same_person(gateway: Gateway, zhang):
    at_clinic, at_other = zhang
    answer = pix(gateway, LEAD, "|".join(record_number(at_clinic)), record_number(at_other)[0])
    assert answer.status_code == 200, answer.text
    parameters = answer.json()["parameter"]
    identifiers = [p["valueIdentifier"] for p in parameters if p["name"] == "targetIdentifier"]
    assert identifiers == [dict(zip(("system", "value"), record_number(at_other), strict=True))]
    targets = {p["valueReference"]["reference"] for p in parameters if p["name"] == "targetId"}
    assert targets == {f"Patient/{at_clinic['id']}", f"Patient/{at_other['id']}"}
    # The clinic may not see the other clinic's record: it gets none of it.
    own = pix(gateway, CLINIC, "|".join(record_number(at_clinic))).json()["parameter"]
    assert {p["valueReference"]["reference"] for p in own if p["name"] == "targetId"} == {
        f"Patient/{at_clinic['id']}"
    }
    assert record_number(at_other)[1] not in str(own)
    assert audited(gateway, "ihe-pix")


def test_pix_refuses_as_iti_83_says(gateway: Gateway, zhang):
    unknown_domain = pix(gateway, LEAD, "urn:oid:1.2.3|X1")
    assert unknown_domain.status_code == 400
    assert unknown_domain.json()["issue"][0]["code"] == "code-invalid"
    unknown_target = pix(gateway, LEAD, f"{ID_CARD}|{ID_18}", "urn:oid:1.2.3")
    assert unknown_target.status_code == 403
    assert unknown_target.json()["issue"][0]["code"] == "code-invalid"
    nobody = pix(gateway, LEAD, f"{ID_CARD}|330702196503150022")
    assert nobody.status_code == 404
    assert nobody.json()["issue"][0]["code"] == "not-found"


def queue(gateway: Gateway, who: str = "admin"):
    return call(gateway, "GET", "/Patient/$mdm-query-links", who)


def decide(gateway: Gateway, patient: dict, person_id: str, result: str, who: str = "admin"):
    body = {"resourceType": "Parameters", "parameter": [
        {"name": "resourceId", "valueString": f"Patient/{patient['id']}"},
        {"name": "goldenResourceId", "valueString": person_id},
        {"name": "matchResult", "valueString": result}]}  # fmt: skip
    return call(gateway, "POST", "/Patient/$mdm-update-link", who, body=body)


def parts(link: dict) -> dict:
    return {p["name"]: next(v for k, v in p.items() if k.startswith("value")) for p in link["part"]}


def test_an_administrator_reviews_a_possible_match_links_and_unlinks_it(gateway: Gateway):
    first = registered(gateway, CLINIC, "曾淑芬", "1966-09-09", phone="13905799999")
    second = registered(gateway, "his-blq-wsy", "层淑芬", "1966-09-09", phone="13905799999")
    assert linked(gateway, second) == {second["id"]}  # proposed, not merged
    assert queue(gateway, "sunli").status_code == 403  # a clinician does not review
    links = [parts(p) for p in queue(gateway).json()["parameter"]]
    proposal = next(lk for lk in links if lk["sourceResourceId"] == f"Patient/{second['id']}")
    assert proposal["matchResult"] == "POSSIBLE_MATCH"
    assert proposal["goldenResourceId"] == person(gateway, first)
    # 汤溪's head decides 汤溪's links only: the proposal about 白龙桥's record is not theirs.
    head = queue(gateway, "wangjianguo")
    assert head.status_code == 200
    assert f"Patient/{second['id']}" not in head.text
    refused = decide(gateway, second, proposal["goldenResourceId"], "MATCH", who="wangjianguo")
    assert refused.status_code == 404
    assert linked(gateway, second) == {second["id"]}

    assert decide(gateway, second, proposal["goldenResourceId"], "MATCH").status_code == 200
    assert linked(gateway, first) == {first["id"], second["id"]}
    made = [r for r in audited(gateway, "mpi-link") if r.entities["id"] == second["id"]]
    assert made[-1].actor == "admin"
    assert made[-1].entities["source"] == "manual"

    unlinked = decide(gateway, second, person(gateway, first), "NO_MATCH")
    assert unlinked.status_code == 200, unlinked.text
    assert linked(gateway, second) == {second["id"]}
    assert [r.actor for r in audited(gateway, "mpi-unlink")] == ["admin"]
    # Written again, the record is not proposed again: the decision stands.
    edited = {**second, "address": [{"text": "婺城区白龙桥镇"}]}
    assert call(gateway, "PUT", f"/Patient/{second['id']}", "his-blq-wsy",
                body=edited).status_code == 200  # fmt: skip
    drain_outbox(gateway.node.platform)
    assert linked(gateway, second) == {second["id"]}
    pending = [parts(p)["sourceResourceId"] for p in queue(gateway).json()["parameter"]]
    assert f"Patient/{second['id']}" not in pending


def test_an_administrator_merges_two_persons(gateway: Gateway):
    one = registered(gateway, "his-wcrm", "何文斌", "1958-12-12", "male")
    two = registered(gateway, "his-wcdy", "何文彬", "1958-12-12", "male")
    body = {"resourceType": "Parameters", "parameter": [
        {"name": "fromGoldenResourceId", "valueString": person(gateway, two)},
        {"name": "toGoldenResourceId", "valueString": person(gateway, one)}]}  # fmt: skip
    assert call(gateway, "POST", "/Patient/$mdm-merge-golden-resources", "sunli",
                body=body).status_code == 403  # fmt: skip
    merged = call(gateway, "POST", "/Patient/$mdm-merge-golden-resources", "admin", body=body)
    assert merged.status_code == 200, merged.text
    assert linked(gateway, two) == {one["id"], two["id"]}
    assert audited(gateway, "mpi-merge")[-1].entities["ids"] == [two["id"]]


def test_a_decision_on_an_unknown_person_is_refused_and_changes_nothing(gateway: Gateway):
    lone = registered(gateway, "his-sj-sq", "欧阳修远", "1949-10-01", "male")
    assert decide(gateway, lone, "no-such-person", "MATCH").status_code == 404
    assert decide(gateway, lone, person(gateway, lone), "MAYBE").status_code == 400
    assert linked(gateway, lone) == {lone["id"]}


def result(gateway: Gateway, org: str, patient: dict, text: str) -> dict:
    """A lab result as the member's LIS keeps it."""
    with transaction(gateway.node.platform.sessions) as session:
        return store(session, {
            "resourceType": "Observation", "id": new_id(), "status": "final",
            "code": {"text": text}, "subject": {"reference": f"Patient/{patient['id']}"},
            "valueQuantity": {"value": 5.1, "unit": "mmol/L"},
        }, org).content or {}  # fmt: skip


def test_a_search_spans_the_linked_records_the_searcher_may_see(gateway: Gateway, zhang):
    at_clinic, at_other = zhang
    own = result(gateway, "tx-wsy", at_clinic, "血糖")
    elsewhere = result(gateway, "cz-sq", at_other, "血糖")

    def found(who: str, query: str) -> set[str]:
        answer = call(gateway, "GET", f"/Observation?{query}", who)
        assert answer.status_code == 200, answer.text
        return {e["resource"]["id"] for e in answer.json().get("entry", [])}

    expanded = f"subject:mdm=Patient/{at_clinic['id']}"
    assert found(LEAD, expanded) == {own["id"], elsewhere["id"]}
    assert found(LEAD, f"subject=Patient/{at_clinic['id']}") == {own["id"]}
    assert found(CLINIC, expanded) == {own["id"]}  # 城中社区's result is not the clinic's to see
    assert call(gateway, "GET", "/Observation?subject:mdm=Group/1", LEAD).status_code == 400
