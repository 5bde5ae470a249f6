"""C-FIND study-level latency with 10,000 studies indexed, as a reading workstation queries
(one patient, one accession, a name prefix, one day), from pynetdicom against
``yilian serve --only dicom`` on its embedded defaults.

Run from the repository:

    .venv/bin/python bench/dicom_find.py [--studies 10000] [--queries 100]

Last measured on the 2-core reference machine: p50 18.7-21.5 ms, p95 ~115 ms (a whole day's
studies, ~27 answers, is the slow case at ~95 ms).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pydicom.dataset import Dataset  # noqa: E402
from pynetdicom import AE  # noqa: E402
from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelFind  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from bench.dicom_ingest import CALLING, PORT, Server, yilian_dicom  # noqa: E402
from dicom_node import transport  # noqa: E402
from storage import import_alliance_file, open_platform, transaction  # noqa: E402
from storage.models import DicomPatient, DicomSeries, DicomStudy  # noqa: E402
from storage.platform import Platform  # noqa: E402
from storage.settings import Settings  # noqa: E402
from tests.conftest import DEMO_ALLIANCE  # noqa: E402


def find_latency(studies: int = 10_000, queries: int = 100) -> dict[str, float]:
    """C-FIND study-level p50/p95 (ms) on an index of ``studies`` studies, from pynetdicom."""
    with tempfile.TemporaryDirectory(dir=REPO / "var") as tmp:
        data = Path(tmp) / "data"
        platform = open_platform(Settings(data_dir=data))
        import_alliance_file(platform.sessions, DEMO_ALLIANCE)
        _fill_index(platform, studies)
        platform.close()
        server = start_yilian_host(data)
        try:
            ae = AE(CALLING)
            ae.add_requested_context(StudyRootQueryRetrieveInformationModelFind)
            # DCMTK's findscu turns Nagle off too (see dicom_node.transport).
            assoc = ae.associate(
                "127.0.0.1", PORT + 1, ae_title="YILIAN", evt_handlers=transport.HANDLERS
            )
            # What a reading workstation asks: one patient, one accession, a name, one day.
            kinds = {
                "patient id": lambda i: {"PatientID": f"P{i * 89 % studies:06d}"},
                "accession": lambda i: {"AccessionNumber": f"ACC{i * 97 % studies:06d}"},
                "name prefix": lambda i: {"PatientName": f"wang^wei{i * 31 % studies}*"},
                "one day": lambda i: {"StudyDate": f"2026{i % 12 + 1:02d}{i % 28 + 1:02d}"},
            }
            results: dict[str, float] = {}
            everything = []
            for kind, keys in kinds.items():
                times = []
                for i in range(queries):
                    query = _study_query(keys(i))
                    t0 = time.perf_counter()
                    answers = list(
                        assoc.send_c_find(query, StudyRootQueryRetrieveInformationModelFind)
                    )
                    times.append((time.perf_counter() - t0) * 1000)
                    if answers[-1][0].Status != 0:
                        raise RuntimeError("C-FIND failed")
                results[f"{kind} p50"] = statistics.median(times)
                everything += times
            assoc.release()
            results["all p50"] = statistics.median(everything)
            results["all p95"] = statistics.quantiles(everything, n=20)[-1]
            return results
        finally:
            server.stop()


def start_yilian_host(data: Path) -> Server:
    return yilian_dicom(data, PORT + 1, prefix=())


def _study_query(keys: dict[str, str]) -> Dataset:
    query = Dataset()
    query.QueryRetrieveLevel = "STUDY"
    for keyword in (
        "StudyInstanceUID",
        "StudyDate",
        "AccessionNumber",
        "PatientName",
        "PatientID",
        "ModalitiesInStudy",
        "StudyDescription",
        "NumberOfStudyRelatedInstances",
    ):
        setattr(query, keyword, "")
    for keyword, value in keys.items():
        setattr(query, keyword, value)
    return query


def _fill_index(platform: Platform, count: int) -> None:
    """Index rows for ``count`` studies (one series, one instance each) written directly."""
    rng = random.Random(7)  # noqa: S311 (synthetic rows)
    with transaction(platform.sessions) as session:
        session.execute(
            insert(DicomPatient),
            [
                {
                    "id": i + 1,
                    "org_id": "tx-wsy",
                    "patient_id": f"P{i:06d}",
                    "name": f"Wang^Wei{i}",
                    "birth_date": f"19{rng.randint(30, 99)}0101",
                    "sex": rng.choice("MF"),
                }
                for i in range(count)
            ],
        )
        session.execute(
            insert(DicomStudy),
            [
                {
                    "study_uid": f"1.2.826.0.1.3680043.10.1.{i}",
                    "patient_pk": i + 1,
                    "org_id": "tx-wsy",
                    "study_date": f"2026{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}",
                    "study_time": "093000",
                    "accession_number": f"ACC{i:06d}",
                    "study_id": "1",
                    "description": "胸部CT平扫",
                    "referring_physician": "",
                    "modalities": "CT",
                    "series_count": 1,
                    "instance_count": 300,
                }
                for i in range(count)
            ],
        )
        session.execute(
            insert(DicomSeries),
            [
                {
                    "series_uid": f"1.2.826.0.1.3680043.10.2.{i}",
                    "study_uid": f"1.2.826.0.1.3680043.10.1.{i}",
                    "modality": "CT",
                    "instance_count": 300,
                }
                for i in range(count)
            ],
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--studies", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=100)
    args = parser.parse_args()
    (REPO / "var").mkdir(exist_ok=True)
    latency = find_latency(args.studies, args.queries)
    print(
        f"C-FIND study level, {args.studies:,} studies: "
        + ", ".join(f"{k} {v:.1f} ms" for k, v in latency.items())
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
