"""An object-store outage while the LIS sends results: AE (the LIS keeps the message), nothing
half-written, nothing already stored lost; the re-sent message is applied once it is back."""

from __future__ import annotations

import os
import time
from pathlib import Path

from storage.blobs import FileBlobStore
from storage.worker import maintenance
from tests.integration.dicomweb.conftest import start_gateway
from tests.integration.lab.conftest import POTASSIUM, SODIUM, Lab, mllp_listener, oru
from tests.servers import SeaweedS3


def test_object_store_outage_loses_nothing(tmp_path: Path, demo_sqlite: Path):
    with (
        SeaweedS3() as s3,
        start_gateway(tmp_path, demo_sqlite, s3.url("hl7-outage")) as gateway,
        mllp_listener(gateway.node.platform) as port,
    ):
        lab = Lab(gateway, port)
        assert lab.send(oru("OUT-0001", [POTASSIUM], filler="L-1"))["MSA"][1] == "AA"
        s3.stop()
        second = oru("OUT-0002", [SODIUM], filler="L-2")
        ack = lab.send(second)
        assert ack["MSA"][1:4] == ["AE", "OUT-0002", "storage unavailable, send again later"]
        assert ack["ERR"][3].startswith("207^Application internal error")  # Yilian's fault
        assert [m.control_id for m in lab.messages()] == ["OUT-0001"]
        assert lab.fhir("/Observation")["total"] == 1
        s3.start()
        assert lab.send(second)["MSA"][1] == "AA"
        assert [(m.control_id, m.state) for m in lab.messages()] == [
            ("OUT-0001", "processed"), ("OUT-0002", "processed")
        ]  # fmt: skip
        archived = [gateway.node.platform.blobs.get(m.object_key) for m in lab.messages()]
        assert [b"".join(chunks) for chunks in archived] == [
            oru("OUT-0001", [POTASSIUM], filler="L-1").to_er7().encode(), second.to_er7().encode()
        ]  # fmt: skip
        assert lab.fhir("/Observation")["total"] == 2


def test_an_object_no_commit_recorded_is_swept_and_the_archived_message_kept(
    tmp_path: Path, demo_sqlite: Path
):
    """A crash between a message's object and its commit leaves an object no row names (its
    sender got no AA and sends it again): the worker's maintenance removes it once it is an
    hour old, and only it."""
    with (
        start_gateway(tmp_path, demo_sqlite) as gateway,
        mllp_listener(gateway.node.platform) as port,
    ):
        lab, platform = Lab(gateway, port), gateway.node.platform
        assert lab.send(oru("SWEEP-0001", [POTASSIUM], filler="L-1"))["MSA"][1] == "AA"
        archived = lab.messages()[0].object_key
        orphan = "hl7/2026/12/01/lis-jhzx/090000-crashed.hl7"
        platform.blobs.put(orphan, [b"MSH|^~\\&|LIS|JHZX"])
        assert isinstance(platform.blobs, FileBlobStore)
        two_hours_ago = time.time() - 7200
        for key in (archived, orphan):
            os.utime(platform.blobs.root.joinpath(*key.split("/")), (two_hours_ago,) * 2)
        maintenance(platform)
        assert sorted(platform.blobs.list("hl7/")) == [archived]
        assert lab.fhir("/Observation")["total"] == 1
