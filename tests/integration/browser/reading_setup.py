"""A reading Task ready for the pages, made in the running ``yilian serve --demo`` the way a
clinic makes one: its HIS orders a head CT (FHIR, client credentials), its CT pushes the images
under the order's accession number (DCMTK ``storescu``), the study becomes stable → 待阅片."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx
from playwright.sync_api import Locator, Page

from tests.dcmtk import dcmtk_path
from tests.dicom_data import Study, write_series
from tests.integration.fhir.test_rest import PATIENT
from tests.integration.test_serve import Running

HIS = "his-tx-wsy"
CATEGORY = "http://yilian.example/fhir/CodeSystem/exam-category"
FHIR_JSON = "application/fhir+json"


def his_token(base: str, client: str = HIS) -> str:
    auth = (client, f"demo-secret-{client.removeprefix('his-')}")
    answer = httpx.post(f"{base}/auth/token", data={"grant_type": "client_credentials"}, auth=auth)
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def fhir(base: str, token: str, method: str, path: str, body: dict | None = None) -> dict:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": FHIR_JSON}
    answer = httpx.request(method, f"{base}/fhir/{path}", headers=headers, json=body, timeout=30)
    assert answer.is_success, answer.text
    return dict(answer.json())


def ready_task(served: Running, base: str, directory: Path, patient: str = "") -> dict:
    """Order (for ``patient``, a ``Patient/<id>``, else a new one), push the images, wait until
    the order's Task is 待阅片; the Task."""
    token = his_token(base)
    patient = patient or f"Patient/{fhir(base, token, 'POST', 'Patient', PATIENT)['id']}"
    order = fhir(base, token, "POST", "ServiceRequest", {
        "resourceType": "ServiceRequest", "status": "active", "intent": "order",
        "priority": "stat",
        "category": [{"coding": [{"system": CATEGORY, "code": "imaging"}]}],
        "code": {"coding": [{"system": "urn:his:tx-wsy", "code": "CT-HEAD"}], "text": "头颅CT平扫"},
        "subject": {"reference": patient},
        "requester": {"reference": "Organization/tx-wsy"},
        "performer": [{"reference": "Organization/jhzx"}],
        "authoredOn": "2026-12-02T08:30:00+08:00",
    })  # fmt: skip
    study = Study(accession=accession_of(base, token, order), description="头颅CT平扫")
    push(served, "TX_CT1", write_series(study, directory, 2, "CT"))
    return task_when_ready(base, token, order)


def accession_of(base: str, token: str, order: dict) -> str:
    """The order's accession number, given when the order is taken in (awaited)."""
    deadline = time.monotonic() + 60
    while True:
        placed = fhir(base, token, "GET", f"ServiceRequest/{order['id']}")
        accession = next((i["value"] for i in placed.get("identifier", []) if "type" in i), "")
        if accession:
            return str(accession)
        assert time.monotonic() < deadline, "the order got no accession number"
        time.sleep(0.3)


def push(served: Running, calling: str, files: list[Path]) -> None:
    """A modality of the clinic (AE title ``calling``) sends ``files`` with DCMTK."""
    pushed = subprocess.run(
        [dcmtk_path("storescu"), "-aet", calling, "-aec", "YILIAN", "127.0.0.1",
         str(served.dicom), *map(str, files)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert pushed.returncode == 0, pushed.stderr


def task_when_ready(base: str, token: str, order: dict) -> dict:
    """The order's Task once it is 待阅片 (its study stable and linked)."""
    deadline = time.monotonic() + 120
    while True:
        found = fhir(base, token, "GET", f"Task?based-on=ServiceRequest/{order['id']}")
        tasks = [e["resource"] for e in found.get("entry", [])]
        if tasks and tasks[0]["status"] == "ready":
            return dict(tasks[0])
        assert time.monotonic() < deadline, f"never 待阅片: {tasks}"
        time.sleep(0.5)


def row_of(page: Page, task: dict) -> Locator:
    """The worklist's row of this Task."""
    return page.locator(f"[data-test=tasks] tbody tr:has([data-task='{task['id']}'])")


def claim_from_worklist(page: Page, base: str, task: dict) -> None:
    """From 阅片工作台, claim the Task and land on its reading page."""
    page.click("[data-test=menu-worklist]")
    row_of(page, task).locator("[data-test=claim]").click()
    page.wait_for_url(f"{base}/app/reading/{task['id']}")
