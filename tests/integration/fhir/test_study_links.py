"""Studies the accession number does not link (检查与申请单对应): a study of the same patient,
modality and day is proposed for confirmation, never linked silently; a study matching nothing
is listed with the unlinked ones, not lost; a person links it and the reading can start."""

from __future__ import annotations

from pathlib import Path

from gateway.study_publish import publish_stable_study
from tests.dicom_data import Patient, Study, write_series
from tests.integration.dicomweb.conftest import Gateway, seed
from tests.integration.fhir.test_orders_in import CLINIC, place_order, tasks_of
from tests.integration.fhir.test_rest import call
from tests.servers import drain_outbox

CANDIDATE = "http://yilian.example/fhir/StructureDefinition/candidate-order"


def pushed(
    gateway: Gateway, tmp_path: Path, study: Study, org: str = "tx-wsy", ae: str = "TX_CT1"
) -> dict:
    seed(gateway, *write_series(study, tmp_path / study.study_uid, 1, "CT"), org=org, ae=ae)
    publish_stable_study(gateway.node.platform, {"study_uid": study.study_uid, "org_id": org})
    found = call(gateway, "GET", f"/ImagingStudy/{study.study_uid}", "his-jhzx")
    assert found.status_code == 200, found.text
    return found.json()


def link(gateway: Gateway, study: Study, order: dict, who: str):
    reference = {"reference": f"ServiceRequest/{order['id']}"}
    body = {"resourceType": "Parameters",
            "parameter": [{"name": "order", "valueReference": reference}]}  # fmt: skip
    return call(gateway, "POST", f"/ImagingStudy/{study.study_uid}/$link", who, body=body)


def state(gateway: Gateway, order: dict) -> str:
    [task] = tasks_of(gateway, order)
    return task["businessStatus"]["text"]


def test_the_same_patient_modality_and_day_is_proposed_then_confirmed(
    gateway: Gateway, tmp_path: Path
):
    order = place_order(gateway)  # 汤溪 patient TX000123, 2026-12-02
    drain_outbox(gateway.node.platform)
    study = Study(patient=Patient(patient_id="TX000123"), accession="", study_date="20261202")
    published = pushed(gateway, tmp_path, study)
    assert "basedOn" not in published  # not linked silently
    assert published["extension"] == [
        {"url": CANDIDATE, "valueReference": {"reference": f"ServiceRequest/{order['id']}"}}
    ]
    assert state(gateway, order) == "待检查"

    confirmed = link(gateway, study, order, CLINIC)
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["basedOn"] == [{"reference": f"ServiceRequest/{order['id']}"}]
    assert "extension" not in confirmed.json()
    assert state(gateway, order) == "待阅片"


def test_a_study_with_an_unknown_accession_is_listed_not_lost(gateway: Gateway, tmp_path: Path):
    order = place_order(gateway)
    drain_outbox(gateway.node.platform)
    stray = Study(patient=Patient(patient_id="SOMEONE-ELSE"), accession="NOSUCH01")
    pushed(gateway, tmp_path, stray)
    unlinked = call(gateway, "GET", "/ImagingStudy?basedon:missing=true", "wanglei").json()
    assert stray.study_uid in [e["resource"]["id"] for e in unlinked["entry"]]
    assert state(gateway, order) == "待检查"

    assert link(gateway, stray, order, "his-cz-sq").status_code == 404  # another clinic
    assert link(gateway, stray, order, "wanglei").status_code == 200  # the reading centre
    unlinked = call(gateway, "GET", "/ImagingStudy?basedon:missing=true", "wanglei").json()
    assert stray.study_uid not in [e["resource"]["id"] for e in unlinked.get("entry", [])]
    assert state(gateway, order) == "待阅片"


def accession_of(gateway: Gateway, order: dict) -> str:
    current = call(gateway, "GET", f"/ServiceRequest/{order['id']}", CLINIC).json()
    [number] = [i for i in current["identifier"] if i.get("type", {}).get("coding")]
    return number["value"]


def test_the_performing_centres_modality_links_by_the_members_accession(
    gateway: Gateway, tmp_path: Path
):
    """汤溪's patient is examined on the lead hospital's CT (or its pathology centre scans the
    slides of a member's specimens): the centre's study carries the member's accession number
    and answers that order.  The same number from a third member's modality links nothing."""
    order = place_order(gateway)  # 汤溪's order, read by the lead hospital's imaging centre
    drain_outbox(gateway.node.platform)
    number = accession_of(gateway, order)
    elsewhere = Study(patient=Patient(patient_id="CZ000001"), accession=number)
    published = pushed(gateway, tmp_path, elsewhere, org="cz-sq", ae="CZSQ_US1")
    assert "basedOn" not in published
    assert state(gateway, order) == "待检查"

    at_centre = Study(patient=Patient(patient_id="JH0042"), accession=number)
    published = pushed(gateway, tmp_path, at_centre, org="jhzx", ae="JHZX_CT1")
    assert published["basedOn"] == [{"reference": f"ServiceRequest/{order['id']}"}]
    assert published["subject"]["reference"] == order["subject"]["reference"]
    assert state(gateway, order) == "待阅片"
