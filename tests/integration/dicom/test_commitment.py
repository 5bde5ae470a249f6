"""Storage Commitment Push Model: a modality (pynetdicom) asks, the worker reports back on a new
association to the modality's registered address; only stored instances are committed."""

from __future__ import annotations

import queue
from collections.abc import Iterator
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid
from pynetdicom import AE, evt
from pynetdicom.events import Event
from pynetdicom.sop_class import CTImageStorage, StorageCommitmentPushModel

from storage import transaction
from storage.models import OutboxEvent, OutboxState
from tests.dicom_data import Study, write_series
from tests.integration.dicom.conftest import CLINIC_AE, NODE_AE, RunningNode, register_address
from tests.servers import drain_outbox, free_port

COMMITMENT = "dicom.commitment"  # the demo alliance's import left a registry.changed event


def request_commitment(node_port: int, references: list[tuple[str, str]]) -> tuple[str, int]:
    ae = AE(CLINIC_AE)
    ae.add_requested_context(StorageCommitmentPushModel)
    assoc = ae.associate("127.0.0.1", node_port, ae_title=NODE_AE)
    assert assoc.is_established
    info = Dataset()
    info.TransactionUID = generate_uid()
    info.ReferencedSOPSequence = []
    for class_uid, instance_uid in references:
        item = Dataset()
        item.ReferencedSOPClassUID = class_uid
        item.ReferencedSOPInstanceUID = instance_uid
        info.ReferencedSOPSequence.append(item)
    status, _ = assoc.send_n_action(info, 1, StorageCommitmentPushModel, "1.2.840.10008.1.20.1.1")
    assoc.release()
    return str(info.TransactionUID), status.Status


class Modality:
    """The CT listening for the commitment result (N-EVENT-REPORT)."""

    def __init__(self, port: int) -> None:
        self.reports: queue.Queue[tuple[int, Dataset]] = queue.Queue()
        self.ae = AE(CLINIC_AE)
        # Accept the node's association on which it plays the commitment SCP role.
        self.ae.add_supported_context(StorageCommitmentPushModel, scu_role=True, scp_role=True)
        self.server = self.ae.start_server(
            ("127.0.0.1", port),
            block=False,
            evt_handlers=[(evt.EVT_N_EVENT_REPORT, self._report)],
        )

    def _report(self, event: Event) -> int:
        self.reports.put((event.request.EventTypeID, event.event_information))
        return 0x0000


@pytest.fixture
def modality(sqlite_node: RunningNode) -> Iterator[Modality]:
    port = free_port()
    register_address(sqlite_node, CLINIC_AE, port)
    running = Modality(port)
    yield running
    running.server.shutdown()


def run_worker(node: RunningNode) -> None:
    drain_outbox(node.platform)


def test_commitment_reports_stored_instances_and_fails_the_rest(
    sqlite_node: RunningNode, modality: Modality, tmp_path: Path
) -> None:
    paths = write_series(Study(), tmp_path, 2)
    assert sqlite_node.storescu(*paths).returncode == 0
    stored = [(CTImageStorage, str(pydicom.dcmread(p).SOPInstanceUID)) for p in paths]
    never_sent = (CTImageStorage, str(generate_uid()))
    transaction_uid, status = request_commitment(sqlite_node.port, [*stored, never_sent])
    assert status == 0x0000
    run_worker(sqlite_node)
    event_type, report = modality.reports.get(timeout=30)
    assert event_type == 2  # some failed
    assert report.TransactionUID == transaction_uid
    committed = {item.ReferencedSOPInstanceUID for item in report.ReferencedSOPSequence}
    assert committed == {uid for _, uid in stored}
    [failed] = report.FailedSOPSequence
    assert failed.ReferencedSOPInstanceUID == never_sent[1]
    assert failed.FailureReason == 0x0112


def test_commitment_of_everything_stored(
    sqlite_node: RunningNode, modality: Modality, tmp_path: Path
) -> None:
    paths = write_series(Study(), tmp_path, 3)
    assert sqlite_node.storescu(*paths).returncode == 0
    refs = [(CTImageStorage, str(pydicom.dcmread(p).SOPInstanceUID)) for p in paths]
    request_commitment(sqlite_node.port, refs)
    run_worker(sqlite_node)
    event_type, report = modality.reports.get(timeout=30)
    assert event_type == 1
    assert "FailedSOPSequence" not in report
    assert len(report.ReferencedSOPSequence) == 3


def test_report_is_retried_until_the_modality_listens(
    sqlite_node: RunningNode, tmp_path: Path
) -> None:
    """The modality is off when the report is due: the outbox keeps it for a later attempt."""
    register_address(sqlite_node, CLINIC_AE, free_port())  # nobody listens there
    paths = write_series(Study(), tmp_path, 1)
    assert sqlite_node.storescu(*paths).returncode == 0
    request_commitment(
        sqlite_node.port, [(CTImageStorage, str(pydicom.dcmread(paths[0]).SOPInstanceUID))]
    )
    run_worker(sqlite_node)
    with transaction(sqlite_node.platform.sessions) as session:
        [event] = session.query(OutboxEvent).filter_by(topic=COMMITMENT).all()
        assert event.state == OutboxState.PENDING
        assert event.attempts == 1
        assert event.last_error


def test_request_without_transaction_uid_is_refused(sqlite_node: RunningNode) -> None:
    ae = AE(CLINIC_AE)
    ae.add_requested_context(StorageCommitmentPushModel)
    assoc = ae.associate("127.0.0.1", sqlite_node.port, ae_title=NODE_AE)
    info = Dataset()
    info.ReferencedSOPSequence = []
    status, _ = assoc.send_n_action(info, 1, StorageCommitmentPushModel, "1.2.840.10008.1.20.1.1")
    assoc.release()
    assert status.Status == 0x0115  # invalid argument value
    with transaction(sqlite_node.platform.sessions) as session:
        assert session.query(OutboxEvent).filter_by(topic=COMMITMENT).count() == 0
