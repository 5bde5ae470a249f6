"""FHIR search as a HIS uses it, on the index filled at write time."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from tests.conftest import new_postgres_database
from tests.integration.dicomweb.conftest import Gateway, start_gateway

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"


def patient(pid: str, family: str, given: str, gender: str, birth: str) -> dict:
    return {
        "resourceType": "Patient",
        "id": pid,
        "identifier": [{"system": "urn:yilian:patient-id:tx-wsy", "value": pid.upper()}],
        "name": [{"family": family, "given": [given], "text": family + given}],
        "gender": gender,
        "birthDate": birth,
    }


def glucose(oid: str, pid: str, value: float, when: str) -> dict:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "2345-7"}], "text": "葡萄糖"},
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": when,
        "valueQuantity": {"value": value, "unit": "mmol/L", "system": UCUM, "code": "mmol/L"},
    }


RESOURCES = [
    {
        **patient("p1", "张", "三丰", "male", "1980-01-01"),
        "managingOrganization": {"reference": "Organization/tx-wsy"},  # from the directory
    },
    patient("p2", "张", "无忌", "male", "1995-06-15"),
    patient("p3", "李", "四", "female", "1990"),
    glucose("o1", "p1", 5.2, "2026-10-20T08:00:00+08:00"),
    glucose("o2", "p1", 7.9, "2026-11-20T08:00:00+08:00"),
    glucose("o3", "p3", 6.4, "2026-11-21T08:00:00+08:00"),
]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def alliance(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    demo_sqlite: Path,
) -> Iterator[Gateway]:
    """The resources above, loaded once per database; the tests only read."""
    url = None
    if request.param == "postgresql":
        url = new_postgres_database(request.getfixturevalue("postgres_server"))
    with start_gateway(tmp_path_factory.mktemp("fhir"), demo_sqlite, database_url=url) as gateway:
        load(gateway)
        yield gateway


def load(gateway: Gateway) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": r, "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}}
            for r in RESOURCES
        ],
    }
    headers = {
        "Authorization": f"Bearer {gateway.token('his-jhzx')}",
        "Content-Type": "application/fhir+json",
    }
    response = httpx.post(f"{gateway.url}/fhir", headers=headers, content=json.dumps(bundle))
    assert response.status_code == 200


def find(gateway: Gateway, query: str, who: str = "his-jhzx", **headers: str) -> dict:
    auth = {"Authorization": f"Bearer {gateway.token(who)}", **headers}
    response = httpx.get(f"{gateway.url}/fhir/{query}", headers=auth)
    assert response.status_code == 200, response.text
    return response.json()


def ids(bundle: dict) -> list[str]:
    return sorted(
        e["resource"]["id"] for e in bundle.get("entry", []) if e["search"]["mode"] == "match"
    )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Patient?identifier=urn:yilian:patient-id:tx-wsy|P2", ["p2"]),
        ("Patient?identifier=P3", ["p3"]),
        ("Patient?family=张", ["p1", "p2"]),
        ("Patient?name=张三", ["p1"]),
        ("Patient?name:contains=无", ["p2"]),
        ("Patient?name:exact=张", ["p1", "p2"]),
        ("Patient?gender=female", ["p3"]),
        ("Patient?gender:not=male", ["p3"]),
        ("Patient?gender=male&birthdate=ge1990-01-01", ["p2"]),
        ("Patient?birthdate=1990", ["p3"]),
        ("Patient?birthdate=lt1990&gender=male,female", ["p1"]),
        ("Patient?_id=p1,p3", ["p1", "p3"]),
        ("Observation?subject=Patient/p1", ["o1", "o2"]),
        ("Observation?subject:Patient=p3", ["o3"]),
        ("Observation?patient=p1&date=ge2026-11-01", ["o2"]),
        (f"Observation?code={quote(LOINC)}|2345-7&date=2026-11", ["o2", "o3"]),
        ("Observation?code:text=葡萄", ["o1", "o2", "o3"]),
        # code and date together, as the pair index answers them
        ("Observation?code=2345-7&date=ge2026-11-20&date=lt2026-11-21", ["o2"]),
        ("Observation?code=718-7,2345-7&date=2026-10", ["o1"]),
        ("Observation?code=718-7&date=2026-11", []),
        (f"Observation?code={quote(LOINC)}|&date=le2026-11-20T08:00:00%2B08:00", ["o1", "o2"]),
        ("Observation?code=2345-7&date=2026-11&patient=p3", ["o3"]),
        ("Observation?code:not=718-7&date=2026-11", ["o2", "o3"]),
        (f"Observation?value-quantity=gt6|{quote(UCUM)}|mmol/L", ["o2", "o3"]),
        ("Observation?value-quantity=le5.2", ["o1"]),
    ],
)
def test_searches(alliance: Gateway, query: str, expected: list[str]):
    bundle = find(alliance, query)
    assert bundle["type"] == "searchset"
    assert ids(bundle) == expected
    assert bundle["total"] == len(expected)


def test_paging_follows_next_links(alliance: Gateway):
    seen: list[str] = []
    assert "total" not in find(alliance, "Patient?_count=2")  # counting is asked for
    assert find(alliance, "Patient?_count=5")["total"] == 3  # or free: one page holds all
    bundle = find(alliance, "Patient?_count=2&_total=accurate")
    assert bundle["total"] == 3
    while True:
        seen += [e["resource"]["id"] for e in bundle["entry"]]
        following = [link["url"] for link in bundle["link"] if link["relation"] == "next"]
        if not following:
            break
        headers = {"Authorization": f"Bearer {alliance.token('his-jhzx')}"}
        bundle = httpx.get(following[0], headers=headers).json()
    assert seen == ["p1", "p2", "p3"]


def test_summary_count_last_updated_and_post(alliance: Gateway):
    counted = find(alliance, "Observation?_summary=count")
    assert counted["total"] == 3
    assert "entry" not in counted
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    assert find(alliance, f"Patient?_lastUpdated=ge{today}")["total"] == 3
    assert find(alliance, "Patient?_lastUpdated=lt2000-01-01")["total"] == 0
    posted = httpx.post(
        f"{alliance.url}/fhir/Patient/_search",
        headers={"Authorization": f"Bearer {alliance.token('his-jhzx')}"},
        data={"family": "李"},
    ).json()
    assert ids(posted) == ["p3"]


def test_unknown_parameters_lenient_or_strict(alliance: Gateway):
    lenient = find(alliance, "Patient?favourite-colour=blue&gender=female")
    assert ids(lenient) == ["p3"]
    outcome = [e for e in lenient["entry"] if e["search"]["mode"] == "outcome"]
    assert "favourite-colour" in outcome[0]["resource"]["issue"][0]["diagnostics"]
    strict = httpx.get(
        f"{alliance.url}/fhir/Patient?favourite-colour=blue",
        headers={
            "Authorization": f"Bearer {alliance.token('his-jhzx')}",
            "Prefer": "handling=strict",
        },
    )
    assert strict.status_code == 400
    assert strict.json()["resourceType"] == "OperationOutcome"
    bad_date = httpx.get(
        f"{alliance.url}/fhir/Patient?birthdate=yesterday",
        headers={"Authorization": f"Bearer {alliance.token('his-jhzx')}"},
    )
    assert bad_date.status_code == 400


def test_search_sees_only_what_the_organization_may(alliance: Gateway):
    assert find(alliance, "Patient")["total"] == 3  # the lead hospital's lab wrote them
    assert find(alliance, "Patient", who="his-cz-sq")["total"] == 0  # a clinic: not its data


def test_include_revinclude_and_iterate(alliance: Gateway):
    def entries(bundle: dict, mode: str) -> list[str]:
        return sorted(
            f"{e['resource']['resourceType']}/{e['resource']['id']}"
            for e in bundle.get("entry", [])
            if e["search"]["mode"] == mode
        )

    included = find(alliance, "Observation?date=2026-11&_include=Observation:subject")
    assert entries(included, "match") == ["Observation/o2", "Observation/o3"]
    assert entries(included, "include") == ["Patient/p1", "Patient/p3"]
    assert included["total"] == 2  # includes are not counted

    reverse = find(alliance, "Patient?_id=p1&_revinclude=Observation:subject")
    assert entries(reverse, "include") == ["Observation/o1", "Observation/o2"]

    one_level = find(
        alliance, "Observation?_id=o1&_include=Observation:subject&_include=Patient:organization"
    )
    assert entries(one_level, "include") == ["Patient/p1"]
    iterated = find(
        alliance,
        "Observation?_id=o1&_include=Observation:subject&_include:iterate=Patient:organization",
    )
    assert entries(iterated, "include") == ["Organization/tx-wsy", "Patient/p1"]
    bad = httpx.get(
        f"{alliance.url}/fhir/Observation?_include=Observation:code",
        headers={"Authorization": f"Bearer {alliance.token('his-jhzx')}"},
    )
    assert bad.status_code == 400


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Observation?subject:Patient.identifier=P3", ["o3"]),
        ("Observation?patient.family=张", ["o1", "o2"]),
        ("Observation?subject:Patient.gender=female&date=2026-11", ["o3"]),
        ("Patient?_has:Observation:patient:value-quantity=gt7", ["p1"]),
        ("Patient?_has:Observation:subject:code=2345-7", ["p1", "p3"]),
    ],
)
def test_chains_and_has(alliance: Gateway, query: str, expected: list[str]):
    assert ids(find(alliance, query)) == expected


def test_chain_needs_a_type_when_the_reference_has_several(alliance: Gateway):
    response = httpx.get(
        f"{alliance.url}/fhir/Observation?subject.name=张",
        headers={"Authorization": f"Bearer {alliance.token('his-jhzx')}"},
    )
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Patient?_sort=birthdate", ["p1", "p3", "p2"]),
        ("Patient?_sort=-birthdate", ["p2", "p3", "p1"]),
        ("Patient?_sort=family,-given", ["p2", "p1", "p3"]),  # 张无忌, 张三丰 by given desc
        ("Observation?_sort=-value-quantity", ["o2", "o3", "o1"]),
        ("Observation?_sort=-_id", ["o3", "o2", "o1"]),
    ],
)
def test_sort(alliance: Gateway, query: str, expected: list[str]):
    bundle = find(alliance, query)
    assert [e["resource"]["id"] for e in bundle["entry"]] == expected


def test_summary_and_elements(alliance: Gateway):
    [entry] = find(alliance, "Patient?_id=p1&_elements=gender")["entry"]
    assert set(entry["resource"]) == {"resourceType", "id", "meta", "gender"}
    assert entry["resource"]["meta"]["tag"][-1]["code"] == "SUBSETTED"
    [summary] = find(alliance, "Observation?_id=o1&_summary=true")["entry"]
    assert "valueQuantity" in summary["resource"]
    assert "code" in summary["resource"]


def test_patient_everything(alliance: Gateway):
    bundle = find(alliance, "Patient/p1/$everything")
    assert sorted(
        f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in bundle["entry"]
    ) == ["Observation/o1", "Observation/o2", "Patient/p1"]
    missing = httpx.get(
        f"{alliance.url}/fhir/Patient/nobody/$everything",
        headers={"Authorization": f"Bearer {alliance.token('his-jhzx')}"},
    )
    assert missing.status_code == 404
    hidden = httpx.get(
        f"{alliance.url}/fhir/Patient/p1/$everything",
        headers={"Authorization": f"Bearer {alliance.token('his-cz-sq')}"},
    )
    assert hidden.status_code == 404


def test_type_history(alliance: Gateway):
    history = find(alliance, "Observation/_history")
    assert history["type"] == "history"
    assert sorted(e["resource"]["id"] for e in history["entry"]) == ["o1", "o2", "o3"]
    assert find(alliance, "Observation/_history?_since=2999-01-01T00:00:00Z")["total"] == 0
    assert find(alliance, "Patient/_history", who="his-cz-sq")["total"] == 0  # not its data
