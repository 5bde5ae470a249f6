"""A short soak (``bench/soak.py``, Locust): modalities, HIS clients and LIS senders together
for a minute against ``yilian serve --demo``.  No request fails, and the serving process's open
file descriptors do not grow with the requests (one leaked a request would add hundreds)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
KINDS = {"DICOM C-STORE (storescu)", "GET FHIR read", "GET FHIR search", "GET QIDO-RS studies",
         "GET WADO-RS metadata", "GET WADO-RS frame", "HL7 ORU^R01"}  # fmt: skip


def test_a_minute_of_mixed_load_fails_nothing_and_leaks_no_descriptor(tmp_path: Path):
    figures = tmp_path / "soak.json"
    users = ["--modalities", "4", "--his", "10", "--lis", "2"]
    command = [sys.executable, str(REPO / "bench" / "soak.py"), "--minutes", "1", *users,
               "--json", str(figures)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=REPO)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    soaked = json.loads(figures.read_text())
    assert set(soaked["kinds"]) == KINDS
    requests = sum(row["count"] for row in soaked["kinds"].values())
    assert requests > 100, soaked["kinds"]
    assert all(row["failures"] == 0 for row in soaked["kinds"].values()), soaked["errors"]
    [served] = soaked["processes"].values()
    (_, warm_fds), (_, end_fds) = served["warm"], served["end"]
    assert end_fds - warm_fds < 20, served
