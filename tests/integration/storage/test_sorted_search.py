"""A sorted search page is the same whether every match is sorted or the sort index is walked
(storage.fhir.ordering): same resources, same order, ties and missing values included, page
after page — on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from fhir_profiles.search_values import extract
from gateway.fhir.search import parse
from storage import transaction
from storage.fhir import IndexRows, index_rows, ordering
from storage.fhir import search as fhir_search
from storage.fhir import store as fhir_store
from storage.policy import Viewer

EVERYONE = Viewer("jhzx", frozenset({"jhzx"}))


def task(n: int) -> dict:
    resource = {
        "resourceType": "Task",
        "id": f"t{n:03d}",
        "status": "ready" if n % 3 else "completed",
        "intent": "order",
        "owner": {"reference": "HealthcareService/jhzx-imaging" if n % 5 else "Organization/x"},
    }
    if n % 11:  # one in eleven has no authoredOn: sorted last either way
        pair = n // 2  # ties: Tasks 2k and 2k + 1 were authored at the same minute
        resource["authoredOn"] = f"2026-11-{1 + pair % 28:02d}T{pair % 24:02d}:00:00+08:00"
    return resource


def observation(n: int) -> dict:
    resource = {
        "resourceType": "Observation",
        "id": f"o{n:03d}",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "2345-7"}]},
    }
    if n % 2:  # a period (low and high differ) or an instant
        resource["effectivePeriod"] = {
            "start": f"2026-10-{1 + n % 27:02d}T08:00:00+08:00",
            "end": f"2026-11-{1 + (n * 7) % 27:02d}T08:00:00+08:00",
        }
    else:
        resource["effectiveDateTime"] = f"2026-10-{1 + (n * 3) % 28:02d}T09:00:00+08:00"
    return resource


def indexed(resource: dict) -> IndexRows:
    """Its index rows; every seventh Task with a second, earlier authored-on value (a
    parameter with several values sorts by the greatest descending, the least ascending)."""
    rows = index_rows(resource, extract(resource))
    dates = rows.get("fhir_index_date", [])
    authored = [row for row in dates if row["param"] == "authored-on"]
    if int(resource["id"][1:]) % 7 == 0 and authored:
        dates.append({**authored[0], "low": "2026-09-15T00:00:00", "high": "2026-09-15T00:00:00"})
    return rows


@pytest.fixture
def stored(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    with transaction(sessions) as session:
        for resource in [task(n) for n in range(120)] + [observation(n) for n in range(80)]:
            fhir_store.put(session, resource, None, index=indexed(resource))
    return sessions


def pages(session: Session, resource_type: str, query: str, size: int) -> list[str]:
    request = parse(resource_type, [tuple(p.split("=", 1)) for p in query.split("&")], False)
    found: list[str] = []
    for offset in range(0, 400, size):
        page, _ = fhir_search.search(
            session, resource_type, request.criteria, EVERYONE,
            count=size, offset=offset, with_total=False, sort=request.sort,
        )  # fmt: skip
        found += [resource.id for resource in page]
        if len(page) < size:
            break
    return found


QUERIES = [
    ("Task", "_sort=-authored-on"),
    ("Task", "_sort=authored-on"),
    ("Task", "status=ready&owner=HealthcareService/jhzx-imaging&_sort=-authored-on"),
    ("Task", "status=completed&_sort=authored-on"),
    ("Observation", "code=2345-7&_sort=-date"),
    ("Observation", "code=2345-7&_sort=date"),
]


@pytest.mark.parametrize(("resource_type", "query"), QUERIES)
def test_walking_the_sort_index_gives_the_pages_sorting_gives(
    stored: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch, resource_type: str, query: str
):
    with transaction(stored) as session:
        monkeypatch.setattr(fhir_search, "WALK_FROM", 10**9)  # never walk
        sorted_all = pages(session, resource_type, query, 7)
        monkeypatch.setattr(fhir_search, "WALK_FROM", 0)
        monkeypatch.setattr(ordering, "WALK_BATCH", 5)  # many steps of keyset paging
        walked = pages(session, resource_type, query, 7)
    assert sorted_all == walked
    assert len(set(walked)) == len(walked) > 20
    if "authored-on" in query:
        missing = [i for i in walked if int(i[1:]) % 11 == 0]
        assert walked[-len(missing) :] == missing  # no authoredOn: last, in the ties' order


def test_a_walk_that_finds_too_few_in_its_budget_gives_way_to_sorting(
    stored: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
):
    query = "status=completed&owner=Organization/x&_sort=-authored-on"  # 8 of 120, spread out
    with transaction(stored) as session:
        monkeypatch.setattr(fhir_search, "WALK_FROM", 10**9)  # never walk
        expected = pages(session, "Task", query, 50)
        monkeypatch.setattr(fhir_search, "WALK_FROM", 0)
        monkeypatch.setattr(ordering, "WALK_BATCH", 2)
        monkeypatch.setattr(ordering, "WALK_BUDGET_PER_RESULT", 0)
        request = parse("Task", [("status", "completed"), ("_sort", "-authored-on")], False)
        checked = fhir_search.search(
            session, "Task", request.criteria, EVERYONE, count=5, with_total=False,
            sort=request.sort,
        )  # fmt: skip
        assert len(checked[0]) == 5
        assert pages(session, "Task", query, 50) == expected
    assert [int(i[1:]) % 15 for i in expected] == [0] * len(expected)
