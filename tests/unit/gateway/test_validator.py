"""A large Bundle's resources are validated in worker processes and by the caller, and the
results come back in order, right, even when a worker dies."""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Iterator

import pytest

from gateway.fhir.validator import Validator, prepare_share


def patients(count: int, invalid: set[int]) -> list[tuple[dict, str]]:
    items = []
    for n in range(count):
        patient = {
            "resourceType": "Patient",
            "id": f"p{n}",
            "identifier": [{"system": "urn:yilian:patient-id:tx-wsy", "value": f"TX{n:06d}"}],
            "gender": "no-such-gender" if n in invalid else "female",
        }
        items.append((patient, "Patient"))
    return items


@pytest.fixture
def validator() -> Iterator[Validator]:
    validator = Validator(1, {})
    yield validator
    validator.close()


def test_results_come_in_order_with_the_problems_where_they_are(validator: Validator):
    items = patients(300, invalid={5, 250})
    results = list(validator.prepared(items))
    assert len(results) == 300
    assert [n for n, (problems, _) in enumerate(results) if problems] == [5, 250]
    assert results == prepare_share(items, {})  # the same answers as in one thread
    tokens = results[299][1]["fhir_index_token"]
    assert [t["code"] for t in tokens if t["param"] == "identifier"] == ["TX000299"]
    assert {t["resource_id"] for t in tokens} == {"p299"}


def test_a_dying_worker_costs_no_result(validator: Validator, caplog: pytest.LogCaptureFixture):
    items = patients(400, invalid={390})
    stream = validator.prepared(items)
    first = next(stream)
    for worker in multiprocessing.active_children():
        os.kill(worker.pid, signal.SIGKILL)
    rest = list(stream)
    assert "worker died" in caplog.text
    assert [first, *rest] == prepare_share(items, {})
    assert len(list(validator.prepared(items))) == 400  # a new pool takes over
