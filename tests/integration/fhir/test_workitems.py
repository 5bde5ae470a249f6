"""The reading worklist as UPS-RS workitems for a reporting workstation (PS3.18 11): search,
retrieve, claim with a Transaction UID, complete — the same state machine as the FHIR face."""

from __future__ import annotations

import httpx
from pydicom.uid import generate_uid

from gateway.workflow.ups import workitem_uid
from tests.integration.dicomweb.conftest import Gateway
from tests.integration.fhir.test_orders_in import CLINIC
from tests.integration.fhir.test_reading import REPORT, state
from tests.integration.fhir.test_rest import call

DICOM_JSON = "application/dicom+json"


def ups(gateway: Gateway, method: str, path: str, who: str, body: object = None):
    headers = {"Authorization": f"Bearer {gateway.token(who)}", "Accept": DICOM_JSON,
               "Content-Type": DICOM_JSON}  # fmt: skip
    return httpx.request(method, f"{gateway.dicomweb}/workitems{path}", headers=headers,
                         json=body)  # fmt: skip


def new_state(step_state: str, transaction: str | None) -> dict:
    body = {"00741000": {"vr": "CS", "Value": [step_state]}}
    if transaction:
        body["00081195"] = {"vr": "UI", "Value": [transaction]}
    return body


def test_a_workstation_claims_and_completes_through_ups_rs(gateway: Gateway, task: dict):
    uid = workitem_uid(task["id"])
    found = ups(gateway, "GET", "?ProcedureStepState=SCHEDULED", "wanglei")
    assert found.status_code == 200, found.text
    [item] = [i for i in found.json() if i["00080018"]["Value"][0] == uid]
    assert item["00741000"]["Value"] == ["SCHEDULED"]
    assert item["00741200"]["Value"] == ["HIGH"]  # a stat order
    assert item["00100010"]["Value"][0]["Ideographic"] == "张^三丰"
    assert ups(gateway, "GET", f"/{uid}", "wanglei").json()[0]["00080018"]["Value"] == [uid]
    assert ups(gateway, "GET", f"/{uid}", "his-cz-sq").status_code == 404  # another clinic

    mine = str(generate_uid())
    assert ups(gateway, "PUT", f"/{uid}/state", "wanglei", {}).status_code == 400
    claimed = ups(gateway, "PUT", f"/{uid}/state", "wanglei", new_state("IN PROGRESS", mine))
    assert claimed.status_code == 200, claimed.text
    seen = call(gateway, "GET", f"/Task/{task['id']}", CLINIC).json()  # the FHIR face agrees
    assert (state(seen), seen["owner"]["reference"]) == (
        ("in-progress", "阅片中"), "Practitioner/wanglei")  # fmt: skip
    taken = ups(gateway, "PUT", f"/{uid}/state", "liuyang", new_state("IN PROGRESS", "1.2.3"))
    assert taken.status_code == 409

    draft = REPORT | {"id": "ups-draft", "basedOn": task["basedOn"], "subject": task["for"]}
    assert call(gateway, "PUT", "/DiagnosticReport/ups-draft", "wanglei", body=draft).is_success
    wrong = ups(gateway, "PUT", f"/{uid}/state", "wanglei", new_state("COMPLETED", "1.2.3"))
    assert wrong.status_code == 409
    done = ups(gateway, "PUT", f"/{uid}/state", "wanglei", new_state("COMPLETED", mine))
    assert done.status_code == 200, done.text
    assert state(call(gateway, "GET", f"/Task/{task['id']}", CLINIC).json()) == (
        "in-progress", "待审核")  # fmt: skip
    assert ups(gateway, "GET", f"/{uid}", "wanglei").json()[0]["00741000"]["Value"] == [
        "COMPLETED"]  # fmt: skip
