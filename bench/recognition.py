"""Mutual recognition at order time at scale: ``yilian serve --demo`` (SQLite + local files, as
``make run`` gives it) over ``--patients`` people, each known to the lead hospital and to
汤溪卫生院 by one 身份证号, the lead hospital holding ``--results`` results per person (head
and chest CT reports with their orders, potassium and glucose results, spread over a year).

Measured, each printed with p50 / p95 (ms), for ``--asks`` random people:
- the CDS Hooks round trip: ``order-sign`` with one draft head-CT order (the eligibility answer
  a HIS waits for before the doctor signs);
- ``POST /fhir/ServiceRequest/$recognizable-results`` with the same draft;
- ``recognizable()`` in this process, no HTTP (what the eligibility itself costs);
beside the bare request cost of the same server (``GET /health``).

    .venv/bin/python bench/recognition.py [--patients 20000] [--results 10] [--asks 200]

The data are written straight into the store in this process before the server starts
(``gateway.fhir.storing.store``: the resources with their index rows), as a migration would.

Measured on the 2-core reference machine, 2026-12-02 17:05, otherwise idle (p50 / p95, ms):
                                       10,000 people, 100,000 results    3,000 / 30,000
    recognizable() in process          3.3 / 4.6                         3.2 / 4.6
    CDS Hooks order-sign round trip    22.2 / 1,158                      18.1 / 142
    $recognizable-results round trip   23.0 / 1,248                      26.1 / 146
    GET /health beside it              22.3 / 41.4                       24.3 / 41.4
The eligibility itself stays flat with the data (index lookups: the person's records by
identifier and reference); the round trips' tail grows with it and is not explained yet (each
answer writes its grants and audit records, the cards too, on SQLite's one writer).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

from bench.reading import Server, figures
from gateway.fhir.storing import store
from gateway.workflow.recognition import recognizable
from storage import import_alliance_file, open_platform
from storage.db import transaction
from storage.identity_numbers import ID_CARD
from storage.settings import Settings

DEMO = Path(__file__).resolve().parents[1] / "examples" / "jinhua-alliance.yaml"
DCM = "http://dicom.nema.org/resources/ontology/DCM"
SNOMED = "http://snomed.info/sct"
SITES = ("69536005", "51185008")  # head, chest
LOINC = ("2823-3", "2345-7")  # potassium, glucose


def person(n: int, org: str) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": f"{org}-p{n}",
            "identifier": [{"system": ID_CARD, "value": f"3307021980{n:08d}"[:18]}],
            "name": [{"text": f"患者{n}"}], "gender": "male",
            "birthDate": "1980-01-01"}  # fmt: skip


def results(n: int, count: int, rng: random.Random) -> list[dict[str, Any]]:
    subject = {"reference": f"Patient/jhzx-p{n}"}
    made: list[dict[str, Any]] = []
    for k in range(count):
        when = (datetime.now(UTC) - timedelta(days=rng.uniform(0, 365))).isoformat()
        if k % 2 == 0:
            order_id = f"o{n}-{k}"
            made.append({"resourceType": "ServiceRequest", "id": order_id, "status": "completed",
                         "intent": "order", "subject": subject,
                         "code": {"coding": [{"system": DCM, "code": "CT"}]},
                         "bodySite": [{"coding": [{"system": SNOMED,
                                                   "code": SITES[k % 4 // 2]}]}]})  # fmt: skip
            made.append({"resourceType": "DiagnosticReport", "id": f"r{n}-{k}",
                         "status": "final", "code": {"text": "CT"}, "subject": subject,
                         "basedOn": [{"reference": f"ServiceRequest/{order_id}"}],
                         "effectiveDateTime": when, "conclusion": "未见明显异常",
                         "performer": [{"reference": "Organization/jhzx"}]})  # fmt: skip
        else:
            made.append({"resourceType": "Observation", "id": f"b{n}-{k}", "status": "final",
                         "code": {"coding": [{"system": "http://loinc.org",
                                              "code": LOINC[k % 4 // 2]}]},
                         "subject": subject, "effectiveDateTime": when,
                         "valueQuantity": {"value": 4.2, "unit": "mmol/L"},
                         "performer": [{"reference": "Organization/jhzx"}]})  # fmt: skip
    return made


def populate(data_dir: Path, patients: int, per_person: int) -> None:
    platform = open_platform(Settings(data_dir=data_dir))
    import_alliance_file(platform.sessions, DEMO)
    rng = random.Random(20261202)  # noqa: S311 (data, not secrets)
    began = time.perf_counter()
    for start in range(0, patients, 500):
        with transaction(platform.sessions) as session:
            for n in range(start, min(patients, start + 500)):
                store(session, person(n, "jhzx"), "jhzx", new=True)
                store(session, person(n, "tx-wsy"), "tx-wsy", new=True)
                for resource in results(n, per_person, rng):
                    store(session, resource, "jhzx", new=True)
    took = time.perf_counter() - began
    print(f"populated {patients:,} people, {patients * per_person:,} results in {took:.0f} s")
    platform.close()


def draft(n: int) -> dict[str, Any]:
    return {"resourceType": "ServiceRequest", "id": f"draft-{uuid.uuid4().hex[:8]}",
            "status": "draft", "intent": "order", "subject": {"reference": f"Patient/tx-wsy-p{n}"},
            "code": {"coding": [{"system": DCM, "code": "CT"}], "text": "头颅CT平扫"},
            "bodySite": [{"coding": [{"system": SNOMED, "code": SITES[0]}]}]}  # fmt: skip


def timed(asks: list[int], call: Any) -> list[float]:
    took = []
    for n in asks:
        began = time.perf_counter()
        call(n)
        took.append((time.perf_counter() - began) * 1000)
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=20_000)
    parser.add_argument("--results", type=int, default=10)
    parser.add_argument("--asks", type=int, default=200)
    args = parser.parse_args()
    rng = random.Random(7)  # noqa: S311 (who is asked, not secrets)
    asks = [rng.randrange(args.patients) for _ in range(args.asks)]
    with tempfile.TemporaryDirectory() as work_dir:
        work = Path(work_dir)
        populate(work / "yilian", args.patients, args.results)
        platform = open_platform(Settings(data_dir=work / "yilian"))

        def in_process(n: int) -> None:
            with transaction(platform.sessions) as session:
                recognizable(session, "tx-wsy", draft(n), datetime.now(UTC))

        figures("recognizable() in process (ms)", timed(asks, in_process))
        platform.close()
        server = Server(work)
        try:
            his = server.as_("his-tx-wsy")
            bearer = {"Authorization": his.headers["Authorization"]}
            hooks = httpx.Client(base_url=f"{server.base}/cds-services", timeout=60, headers=bearer)

            def hook(n: int) -> None:
                drafts = {"resourceType": "Bundle", "type": "collection",
                          "entry": [{"resource": draft(n)}]}  # fmt: skip
                context = {"userId": "Practitioner/jianghua", "patientId": f"tx-wsy-p{n}",
                           "draftOrders": drafts}  # fmt: skip
                body = {"hookInstance": str(uuid.uuid4()), "hook": "order-sign", "context": context}
                hooks.post("/yilian-recognition-sign", json=body).raise_for_status()

            def operation(n: int) -> None:
                body = {"resourceType": "Parameters",
                        "parameter": [{"name": "order", "resource": draft(n)}]}  # fmt: skip
                his.post("/ServiceRequest/$recognizable-results", json=body).raise_for_status()

            figures("CDS Hooks order-sign round trip (ms)", timed(asks, hook))
            figures("$recognizable-results round trip (ms)", timed(asks, operation))
            figures("GET /health beside it (ms)",
                    timed(asks, lambda _n: httpx.get(f"{server.base}/health")))  # fmt: skip
        finally:
            server.proc.terminate()
            server.proc.wait(60)


if __name__ == "__main__":
    main()
