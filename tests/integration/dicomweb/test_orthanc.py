"""Interoperability with an archive nobody here wrote: Orthanc (Debian ``orthanc`` +
``orthanc-dicomweb``) configured with Yilian as a DICOMweb server pulls a study from Yilian
(QIDO-RS + WADO-RS) and pushes one to it (STOW-RS).  Orthanc binds every interface, so it and
Yilian's gateway run inside a network namespace that has only ``lo``."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import threading
from pathlib import Path

import httpx
import pydicom
import pytest
import uvicorn
from sqlalchemy import select

from gateway.app import create_app
from storage import transaction
from storage.models import DicomInstance
from tests.dicom_data import Study, write_series
from tests.integration.dicom.conftest import start_demo_node, stop_node
from tests.integration.dicomweb.conftest import Gateway, seed
from tests.servers import (
    ensure_netns,
    enter_netns,
    free_port,
    run_in_netns,
    stop_process,
    wait_for_port,
)

NETNS = "yilian-test"
PLUGIN = Path("/usr/share/orthanc/plugins/libOrthancDicomWeb.so")

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("Orthanc") or not PLUGIN.exists(),
    reason="needs root (network namespace) and Debian's orthanc + orthanc-dicomweb "
    "(installed by .ci/system-deps)",
)


def test_orthanc_pulls_from_and_pushes_to_yilian(tmp_path: Path, demo_sqlite: Path):
    ensure_netns(NETNS)
    node = start_demo_node(tmp_path, demo_sqlite)
    yilian_port, orthanc_port, orthanc_dicom = free_port(), free_port(), free_port()
    node.platform.settings.public_url = f"http://127.0.0.1:{yilian_port}"
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(node.platform), host="127.0.0.1", port=yilian_port, log_config=None
        )
    )

    def serve() -> None:
        enter_netns(NETNS)
        server.run()

    threading.Thread(target=serve, daemon=True).start()
    gateway = Gateway(node, f"http://127.0.0.1:{yilian_port}")

    pulled = Study(accession="PULL1", description="腹部CT")
    pulled_files = write_series(pulled, tmp_path / "pull", 3, "CT")
    seed(gateway, *pulled_files)
    pushed = Study(accession="PUSH1")
    pushed_files = write_series(pushed, tmp_path / "push", 2, "CT")

    def scenario() -> dict:
        wait_for_port(yilian_port, 30)
        token = gateway.token("his-jhzx")
        config = {
            "Name": "peer",
            "StorageDirectory": str(tmp_path / "orthanc" / "storage"),
            "IndexDirectory": str(tmp_path / "orthanc" / "index"),
            "HttpPort": orthanc_port,
            "DicomPort": orthanc_dicom,
            "RemoteAccessAllowed": True,
            "AuthenticationEnabled": False,
            "Plugins": [str(PLUGIN)],
            "DicomWeb": {
                "Enable": True,
                "Servers": {
                    "yilian": {
                        "Url": f"{gateway.dicomweb}/",
                        "HttpHeaders": {"Authorization": f"Bearer {token}"},
                    }
                },
            },
        }
        (tmp_path / "orthanc").mkdir()
        (tmp_path / "orthanc.json").write_text(json.dumps(config))
        log = open(tmp_path / "orthanc.log", "wb")  # noqa: SIM115 (read when a step fails)
        orthanc = subprocess.Popen(
            ["Orthanc", "--verbose", str(tmp_path / "orthanc.json")], stdout=log, stderr=log
        )
        try:
            wait_for_port(orthanc_port, 60, orthanc)
            api = httpx.Client(base_url=f"http://127.0.0.1:{orthanc_port}", timeout=120)
            found = api.post(
                "/dicom-web/servers/yilian/get",
                json={"Uri": "/studies", "Arguments": {"AccessionNumber": "PULL1"}},
            )
            found.raise_for_status()
            retrieved = api.post(
                "/dicom-web/servers/yilian/retrieve",
                json={"Resources": [{"Study": pulled.study_uid}]},
            )
            retrieved.raise_for_status()
            files = [api.get(f"/instances/{i}/file").content for i in api.get("/instances").json()]
            in_orthanc = {pydicom.dcmread(io.BytesIO(f)).SOPInstanceUID: f for f in files}
            uploaded = [api.post("/instances", content=f.read_bytes()).json() for f in pushed_files]
            stow = api.post(
                "/dicom-web/servers/yilian/stow",
                json={"Resources": [uploaded[0]["ParentStudy"]]},
            )
            return {"qido": found.json(), "in_orthanc": in_orthanc, "stow": stow.status_code}
        except httpx.HTTPStatusError as exc:
            lines = (tmp_path / "orthanc.log").read_text(errors="replace").splitlines()
            raise AssertionError("Orthanc: " + "\n".join(lines[-25:])) from exc
        finally:
            stop_process(orthanc)
            log.close()
            server.should_exit = True

    try:
        outcome = run_in_netns(NETNS, scenario)
        with transaction(node.platform.sessions) as session:
            received = set(session.scalars(select(DicomInstance.sop_instance_uid)))
    finally:
        stop_node(node)

    assert [s["0020000D"]["Value"][0] for s in outcome["qido"]] == [pulled.study_uid]
    sent = {pydicom.dcmread(f).SOPInstanceUID: f for f in pulled_files}
    assert sorted(outcome["in_orthanc"]) == sorted(sent)
    for sop, data in outcome["in_orthanc"].items():
        assert pydicom.dcmread(sent[sop]).PixelData == pydicom.dcmread(io.BytesIO(data)).PixelData
    assert outcome["stow"] == 200
    assert {pydicom.dcmread(f).SOPInstanceUID for f in pushed_files} <= set(received)
