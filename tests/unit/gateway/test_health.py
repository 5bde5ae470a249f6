"""``/health``'s answer: dependencies first, then the services of the process."""

from __future__ import annotations

import pytest

from gateway.health import health_answer

OK = {"database": "ok", "object_store": "ok"}
DOWN = {"database": "unavailable: OperationalError", "object_store": "ok"}
UP = {"http": "up", "dicom": "up"}
STARTING = {"http": "up", "dicom": "starting"}


@pytest.mark.parametrize(
    ("checks", "services", "code", "status"),
    [
        (OK, UP, 200, "ok"),
        (OK, {}, 200, "ok"),  # an app not run by `yilian serve` (tests, another server)
        (OK, STARTING, 503, "starting"),
        (DOWN, UP, 503, "unavailable"),
        (DOWN, STARTING, 503, "unavailable"),  # a broken dependency says more than starting
    ],
)
def test_status(checks, services, code, status) -> None:
    assert health_answer(checks, services) == (
        code,
        {"status": status, "checks": checks, "services": services},
    )
