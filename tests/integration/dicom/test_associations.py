"""How many associations the node serves at once: twenty modalities of a county alliance pushing
together are all accepted, and one past the configured limit is told to retry (transient
rejection, "local limit exceeded"), not refused for good."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from pynetdicom import AE
from pynetdicom.association import Association
from pynetdicom.sop_class import Verification

from tests.integration.dicom.conftest import (
    CLINIC_AE,
    NODE_AE,
    RunningNode,
    start_demo_node,
    stop_node,
)


@contextmanager
def _held(node: RunningNode) -> Iterator[Association]:
    ae = AE(CLINIC_AE)
    ae.add_requested_context(Verification)
    assoc = ae.associate("127.0.0.1", node.port, ae_title=NODE_AE)
    try:
        yield assoc
    finally:
        if assoc.is_established:
            assoc.release()


def test_twenty_modalities_at_once_are_all_served(sqlite_node: RunningNode) -> None:
    with ExitStack() as stack:
        held = [stack.enter_context(_held(sqlite_node)) for _ in range(20)]
        assert all(assoc.is_established for assoc in held)
        statuses = [assoc.send_c_echo().Status for assoc in held]
    assert statuses == [0x0000] * 20


def test_one_past_the_limit_is_rejected_as_transient(tmp_path: Path, demo_sqlite: Path) -> None:
    node = start_demo_node(tmp_path, demo_sqlite, max_associations=3)
    try:
        with ExitStack() as stack:
            held = [stack.enter_context(_held(node)) for _ in range(3)]
            assert all(assoc.is_established for assoc in held)
            extra = stack.enter_context(_held(node))
            assert extra.is_rejected
            rejection = extra.acceptor.primitive
            # PS3.8 9.3.4: result 2 (rejected-transient), source 3 (service-provider,
            # presentation), reason 2 (local-limit-exceeded).
            assert (rejection.result, rejection.result_source, rejection.diagnostic) == (2, 3, 2)
        # Once one is released, the next modality gets in.
        with _held(node) as again:
            assert again.is_established
    finally:
        stop_node(node)
