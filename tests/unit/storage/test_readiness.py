"""The per-process record of which services are up."""

from __future__ import annotations

from storage.readiness import Readiness


def test_named_services_start_as_starting_and_keep_their_order() -> None:
    readiness = Readiness()
    assert readiness.states() == {}
    readiness.expect(["http", "dicom", "mllp", "worker"])
    assert list(readiness.states().items()) == [
        ("http", "starting"),
        ("dicom", "starting"),
        ("mllp", "starting"),
        ("worker", "starting"),
    ]


def test_a_service_marked_up_stays_up_when_named_again() -> None:
    readiness = Readiness()
    readiness.expect(["dicom", "mllp"])
    readiness.up("dicom")
    readiness.expect(["dicom"])
    assert readiness.states() == {"dicom": "up", "mllp": "starting"}


def test_states_is_a_copy() -> None:
    readiness = Readiness()
    readiness.expect(["worker"])
    states = readiness.states()
    readiness.up("worker")
    assert states == {"worker": "starting"}
    assert readiness.states() == {"worker": "up"}


def test_all_up_only_once_every_named_service_is() -> None:
    readiness = Readiness()
    assert not readiness.all_up()  # nothing named yet: not started
    readiness.expect(["http", "worker"])
    readiness.up("http")
    assert not readiness.all_up()
    readiness.up("worker")
    assert readiness.all_up()
