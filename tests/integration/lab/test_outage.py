"""An object-store outage while the LIS sends results: AE (the LIS keeps the message), nothing
half-written, nothing already stored lost; the re-sent message is applied once it is back."""

from __future__ import annotations

from pathlib import Path

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
