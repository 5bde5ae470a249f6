"""``kill -9`` of ``yilian serve`` in the middle of concurrent reads: every read a client saw
answered has its access record in the database the process left behind."""

from __future__ import annotations

import asyncio
import sqlite3
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.integration.test_serve import start, wait_until_ready

READERS = 16
PATIENT = {"resourceType": "Patient", "gender": "female", "birthDate": "1990-02-03"}


async def read_until_killed(
    base: str, token: str, ids: list[str], kill: Callable[[], None]
) -> Counter[str]:
    """Reads of ``ids`` on ``READERS`` connections; ``kill()`` after a second of it.  The 200
    answers received, by patient id."""
    answered: Counter[str] = Counter()

    async def reader(client: httpx.AsyncClient, n: int) -> None:
        while True:
            patient = ids[n % len(ids)]
            n += 1
            try:
                answer = await client.get(f"/fhir/Patient/{patient}")
            except httpx.HTTPError:
                return  # the server is gone
            if answer.status_code == 200:
                answered[patient] += 1

    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
        readers = [asyncio.create_task(reader(client, n)) for n in range(READERS)]
        await asyncio.sleep(1)
        kill()
        await asyncio.gather(*readers)
    return answered


def test_kill_9_under_read_load_loses_no_answered_access(tmp_path: Path):
    running = start(tmp_path)
    try:
        wait_until_ready(running)
        base = f"http://127.0.0.1:{running.http}"
        token = httpx.post(
            f"{base}/auth/token", data={"grant_type": "client_credentials"},
            auth=("his-jhzx", "demo-secret-jhzx"),
        ).json()["access_token"]  # fmt: skip
        headers = {"Authorization": f"Bearer {token}"}
        ids = [
            httpx.post(f"{base}/fhir/Patient", json=PATIENT, headers=headers).json()["id"]
            for _ in range(4)
        ]
        answered = asyncio.run(read_until_killed(base, token, ids, running.proc.kill))
    finally:
        running.proc.kill()
        running.proc.wait(30)
    assert sum(answered.values()) > READERS
    with sqlite3.connect(running.data_dir / "yilian.db") as db:
        recorded = Counter(
            dict(
                db.execute(
                    "SELECT json_extract(entities, '$.id'), count(*) FROM audit_records"
                    " WHERE actor = 'his-jhzx' AND action = 'read' AND outcome = 'success'"
                    " GROUP BY 1"
                ).fetchall()
            )
        )
    assert {p: min(recorded[p], n) for p, n in answered.items()} == answered
