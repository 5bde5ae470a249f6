"""The QIDO-RS searches of the study browser: by the member that issued the PatientID
(``IssuerOfPatientID``), by 居民身份证号 (``OtherPatientIDsSequence.PatientID``) across the
members' own patient IDs, newest first — and never beyond what the requester may see."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.dicom_data import Patient, Study, write_series
from tests.integration.dicomweb.conftest import Gateway, seed, uid

STUDY, ISSUER = "0020000D", "00100021"
ID_NUMBER = "330702198001011232"  # 居民身份证号 (valid check character)
ID_CARD = "urn:oid:2.16.156.10011.1.3"


@pytest.fixture
def studies(gateway: Gateway, tmp_path: Path) -> dict[str, Study]:
    """汤溪卫生院 knows the person as TX000123 (its HIS registered the 身份证号); 城中社区 uses
    the 身份证号 as PatientID; 白龙桥卫生院 has someone else."""
    tx = Study(Patient("TX000123", "Zhang^Sanfeng=张^三丰", "19800101", "M"), accession="TX1",
               study_date="20261101")  # fmt: skip
    cz = Study(Patient(ID_NUMBER, "Zhang^Sanfeng=张^三丰", "19800101", "M"), accession="CZ1",
               study_date="20261120")  # fmt: skip
    blq = Study(Patient("BLQ0009", "Li^Si=李^四", "19550505", "F"), accession="BLQ1",
                study_date="20261110")  # fmt: skip
    seed(gateway, *write_series(tx, tmp_path / "tx", 1, "CT"))
    seed(gateway, *write_series(cz, tmp_path / "cz", 1, "US"), org="cz-sq", ae="CZSQ_US1")
    seed(gateway, *write_series(blq, tmp_path / "blq", 1, "DX"), org="blq-wsy", ae="BLQ_DR1")
    patient = {
        "resourceType": "Patient",
        "identifier": [
            {"system": "urn:yilian:patient-id:tx-wsy", "value": "TX000123"},
            {"system": ID_CARD, "value": ID_NUMBER},
        ],
        "name": [{"text": "张三丰"}], "gender": "male", "birthDate": "1980-01-01",
    }  # fmt: skip
    posted = httpx.post(
        f"{gateway.url}/fhir/Patient",
        json=patient,
        headers={"Authorization": f"Bearer {gateway.token('his-tx-wsy')}"},
    )
    assert posted.status_code == 201, posted.text
    return {"tx": tx, "cz": cz, "blq": blq}


def found(gateway: Gateway, who: str, query: str) -> list[str]:
    answer = gateway.get(f"/studies?{query}", who, headers={"Accept": "application/dicom+json"})
    assert answer.status_code in (200, 204), answer.text
    return [] if answer.status_code == 204 else [uid(s, STUDY) for s in answer.json()]


def test_studies_come_newest_first_with_their_issuing_member(
    gateway: Gateway, studies: dict[str, Study]
):
    answer = gateway.get("/studies?includefield=00100021", "wanglei").json()
    assert [uid(s, STUDY) for s in answer] == [studies[k].study_uid for k in ("cz", "blq", "tx")]
    assert [s[ISSUER]["Value"] for s in answer] == [["cz-sq"], ["blq-wsy"], ["tx-wsy"]]


def test_organization_filter_is_limited_by_what_the_requester_sees(
    gateway: Gateway, studies: dict[str, Study]
):
    assert found(gateway, "wanglei", "IssuerOfPatientID=tx-wsy") == [studies["tx"].study_uid]
    assert found(gateway, "wanglei", "00100021=cz-sq") == [studies["cz"].study_uid]
    assert found(gateway, "his-tx-wsy", "IssuerOfPatientID=tx-wsy") == [studies["tx"].study_uid]
    assert found(gateway, "his-tx-wsy", "IssuerOfPatientID=cz-sq") == []  # not hers to see


def test_an_identity_number_finds_the_person_under_each_members_patient_id(
    gateway: Gateway, studies: dict[str, Study]
):
    both = [studies["cz"].study_uid, studies["tx"].study_uid]
    assert found(gateway, "wanglei", f"OtherPatientIDsSequence.PatientID={ID_NUMBER}") == both
    assert found(gateway, "wanglei", f"00101002.00100020={ID_NUMBER}&ModalitiesInStudy=CT") == [
        studies["tx"].study_uid
    ]
    # Each member sees only its own studies of the person, whoever registered the number.
    assert found(gateway, "his-tx-wsy", f"00101002.00100020={ID_NUMBER}") == [
        studies["tx"].study_uid
    ]
    assert found(gateway, "fengxia", f"00101002.00100020={ID_NUMBER}") == [studies["cz"].study_uid]
    assert found(gateway, "his-wcrm", f"00101002.00100020={ID_NUMBER}") == []
    assert found(gateway, "wanglei", "00101002.00100020=330702199001012221") == []


def test_an_empty_identity_number_is_a_clear_400(gateway: Gateway, studies: dict[str, Study]):
    answer = gateway.get("/studies?00101002.00100020=", "wanglei")
    assert answer.status_code == 400
    assert "00101002.00100020" in answer.text
