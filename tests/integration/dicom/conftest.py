"""A DICOM node running in the test process on a real socket, over each database and object
store, with the demo alliance's AE titles; and helpers to drive it with DCMTK's tools."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydicom.dataset import Dataset
from pynetdicom import AE, _config
from pynetdicom.sop_class import CTImageStorage
from pynetdicom.transport import ThreadedAssociationServer
from sqlalchemy import update

from dicom_node.app import build_ae
from dicom_node.ingest_pool import IngestPool
from storage import import_alliance_file, open_platform, transaction
from storage.models import AETitle
from storage.platform import Platform
from storage.settings import Settings
from tests.conftest import DEMO_ALLIANCE
from tests.dcmtk import dcmtk_path
from tests.servers import free_port, stop_process, wait_for_port

NODE_AE = "YILIAN"
CLINIC_AE = "TX_CT1"  # 汤溪卫生院 CT
OTHER_CLINIC_AE = "BLQ_DR1"  # 白龙桥卫生院 DR
READER_AE = "JHZX_READ1"  # the lead hospital's reading workstation (its centres serve both)


@dataclass
class RunningNode:
    platform: Platform
    server: ThreadedAssociationServer
    port: int
    pool: IngestPool | None = None

    def dcmtk(self, tool: str, *args: str, calling: str = CLINIC_AE, timeout: float = 120):
        command = [dcmtk_path(tool), "-aet", calling, "-aec", NODE_AE, *args]
        return subprocess.run(
            [*command, "127.0.0.1", str(self.port)],
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def storescu(self, *files: Path, calling: str = CLINIC_AE, extra: tuple[str, ...] = ()):
        return subprocess.run(
            [
                dcmtk_path("storescu"),
                "-aet",
                calling,
                "-aec",
                NODE_AE,
                *extra,
                "127.0.0.1",
                str(self.port),
                *map(str, files),
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )


def send_file(
    node: RunningNode,
    path: Path,
    sop_class: str = CTImageStorage,
    transfer_syntax: str = "1.2.840.10008.1.2.1",
) -> Dataset:
    """Send a file's data set as is, whatever it holds (pynetdicom's chunked send: the request
    names the instance by the file meta, the data set goes out byte for byte)."""
    ae = AE(CLINIC_AE)
    ae.add_requested_context(sop_class, transfer_syntax)
    assoc = ae.associate("127.0.0.1", node.port, ae_title=NODE_AE)
    assert assoc.is_established
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(_config, "STORE_SEND_CHUNKED_DATASET", True)
            return assoc.send_c_store(path)
    finally:
        assoc.release()


def register_address(node: RunningNode, ae_title: str, port: int | None) -> None:
    """Point a registered AE at a local port (as an admin would) and make the node see it."""
    with transaction(node.platform.sessions) as session:
        session.execute(
            update(AETitle)
            .where(AETitle.ae_title == ae_title)
            .values(host="127.0.0.1" if port else None, port=port)
        )
    node.server.ae.refresh()


@contextmanager
def storescp(node: RunningNode, ae_title: str, out: Path) -> Iterator[Path]:
    """DCMTK's storescp as the registered AE ``ae_title``; every received file is kept."""
    port = free_port()
    register_address(node, ae_title, port)
    out.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [dcmtk_path("storescp"), "-aet", ae_title, "+xa", "+uf", "-od", str(out), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, 30, proc)
        yield out
    finally:
        stop_process(proc)


def start_node(
    tmp: Path,
    database_url: str,
    object_store_url: str,
    *,
    imported: bool = False,
    ingest_processes: int = 0,
    max_associations: int | None = None,
) -> RunningNode:
    settings = Settings(
        data_dir=tmp,
        database_url=database_url,
        object_store_url=object_store_url,
        ae_title=NODE_AE,
    )
    if max_associations is not None:
        settings.dicom_max_associations = max_associations
    platform = open_platform(settings)
    if not imported:
        import_alliance_file(platform.sessions, DEMO_ALLIANCE)
    pool = IngestPool(settings, ingest_processes) if ingest_processes else None
    ae, handlers = build_ae(platform, pool)
    port = free_port()
    server = ae.start_server(("127.0.0.1", port), block=False, evt_handlers=handlers)
    return RunningNode(platform, server, port, pool)


def stop_node(node: RunningNode) -> None:
    node.server.shutdown()
    if node.pool is not None:
        node.pool.close()
    node.platform.close()


@pytest.fixture
def node(tmp_path: Path, database_url: str, blob_store_url: str) -> Iterator[RunningNode]:
    running = start_node(tmp_path / "node", database_url, blob_store_url)
    yield running
    stop_node(running)


def start_demo_node(
    tmp: Path,
    demo_sqlite: Path,
    object_store_url: str | None = None,
    *,
    ingest_processes: int = 0,
    max_associations: int | None = None,
) -> RunningNode:
    """A node on a copy of the demo database (``tmp/yilian.db``), objects in ``tmp/objects``
    unless another store is named."""
    shutil.copy(demo_sqlite, tmp / "yilian.db")
    return start_node(
        tmp / "node",
        f"sqlite:///{tmp / 'yilian.db'}",
        object_store_url or (tmp / "objects").as_uri(),
        imported=True,
        ingest_processes=ingest_processes,
        max_associations=max_associations,
    )


@pytest.fixture
def sqlite_node(tmp_path: Path, demo_sqlite: Path) -> Iterator[RunningNode]:
    """Embedded defaults only (for tests that are about DICOM, not the backends)."""
    running = start_demo_node(tmp_path, demo_sqlite)
    yield running
    stop_node(running)
