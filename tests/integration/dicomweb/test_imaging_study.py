"""A stable study is published as a FHIR ImagingStudy whose Endpoint leads to DICOMweb, where
the study's images are found: what a HIS integration engineer follows from an ImagingStudy."""

from __future__ import annotations

from pathlib import Path

import httpx
import pydicom
import pytest
from fhir.resources.R4B.endpoint import Endpoint
from fhir.resources.R4B.imagingstudy import ImagingStudy

from gateway.study_publish import publish_stable_study
from tests.dicom_data import Study, write_series
from tests.integration.dicomweb.conftest import Gateway, seed

FHIR_JSON = "application/fhir+json"


def fhir(gateway: Gateway, path: str, who: str = "his-jhzx", **headers: str) -> httpx.Response:
    auth = {"Authorization": f"Bearer {gateway.token(who)}", **headers}
    return httpx.get(f"{gateway.url}/fhir{path}", headers=auth)


@pytest.fixture
def published(gateway: Gateway, tmp_path: Path) -> Study:
    study = Study(accession="FHIR1", study_date="20261120", description="头颅CT平扫")
    seed(gateway, *write_series(study, tmp_path / "ct", 3, "CT"))
    payload = {"study_uid": study.study_uid, "org_id": "tx-wsy"}
    publish_stable_study(gateway.node.platform, payload)
    return study


def test_imaging_study_points_at_dicomweb(gateway: Gateway, published: Study):
    response = fhir(gateway, f"/ImagingStudy/{published.study_uid}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(FHIR_JSON)
    assert response.headers["etag"] == 'W/"1"'
    study = response.json()
    assert study["identifier"][0] == {
        "system": "urn:dicom:uid",
        "value": f"urn:oid:{published.study_uid}",
    }
    assert study["identifier"][1]["value"] == "FHIR1"
    assert study["subject"]["display"] == "张三丰"
    assert study["subject"]["identifier"]["value"] == published.patient.patient_id
    assert study["started"].startswith("2026-11-20T09:30:00+08:00")
    assert study["numberOfInstances"] == 3
    assert [m["code"] for m in study["modality"]] == ["CT"]
    assert [i["number"] for i in study["series"][0]["instance"]] == [1, 2, 3]

    ImagingStudy.model_validate(study)  # a well-formed resource (R4B model = R4 structure here)
    endpoint = fhir(gateway, f"/{study['endpoint'][0]['reference']}").json()
    Endpoint.model_validate(endpoint)
    assert endpoint["connectionType"]["code"] == "dicom-wado-rs"
    assert endpoint["address"] == gateway.dicomweb
    # Following the Endpoint: the study's instances are there.
    token = gateway.token("his-jhzx")
    series_uid = study["series"][0]["uid"]
    found = httpx.get(
        f"{endpoint['address']}/studies/{published.study_uid}/series/{series_uid}/instances",
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    assert sorted(i["00080018"]["Value"][0] for i in found) == sorted(
        i["uid"] for i in study["series"][0]["instance"]
    )


def test_republishing_versions_only_real_changes(
    gateway: Gateway, published: Study, tmp_path: Path
):
    platform = gateway.node.platform
    payload = {"study_uid": published.study_uid, "org_id": "tx-wsy"}
    publish_stable_study(platform, payload)  # nothing new: still version 1
    assert fhir(gateway, f"/ImagingStudy/{published.study_uid}").json()["meta"]["versionId"] == "1"
    late = write_series(published, tmp_path / "late", 1, "CT")[0]
    ds = pydicom.dcmread(late)
    ds.SeriesNumber = 2
    ds.save_as(late)
    seed(gateway, late)
    publish_stable_study(platform, payload)
    current = fhir(gateway, f"/ImagingStudy/{published.study_uid}").json()
    assert current["meta"]["versionId"] == "2"
    assert current["numberOfSeries"] == 2
    first = fhir(gateway, f"/ImagingStudy/{published.study_uid}/_history/1").json()
    assert first["numberOfSeries"] == 1
    history = fhir(gateway, f"/ImagingStudy/{published.study_uid}/_history").json()
    assert [e["response"]["etag"] for e in history["entry"]] == ['W/"2"', 'W/"1"']


def test_fhir_errors_are_operation_outcomes(gateway: Gateway, published: Study):
    other_clinic = fhir(gateway, f"/ImagingStudy/{published.study_uid}", who="his-cz-sq")
    assert other_clinic.status_code == 404  # not revealed to an organization that may not see it
    assert other_clinic.json()["resourceType"] == "OperationOutcome"
    assert (
        fhir(gateway, f"/ImagingStudy/{published.study_uid}", who="his-tx-wsy").status_code == 200
    )
    unknown = fhir(gateway, "/ImagingStudy/1.2.3")
    assert unknown.json()["issue"][0]["code"] == "not-found"
    no_token = httpx.get(f"{gateway.url}/fhir/ImagingStudy/{published.study_uid}")
    assert no_token.status_code == 401
    assert no_token.json()["issue"][0]["code"] == "login"
    xml = fhir(gateway, f"/ImagingStudy/{published.study_uid}", Accept="application/fhir+xml")
    assert xml.status_code == 406
    assert xml.json()["resourceType"] == "OperationOutcome"
    narrow = httpx.get(
        f"{gateway.url}/fhir/ImagingStudy/{published.study_uid}",
        headers={"Authorization": f"Bearer {gateway.token('his-jhzx', scope='system/Patient.rs')}"},
    )
    assert narrow.status_code == 403
    assert narrow.json()["issue"][0]["code"] == "forbidden"
    bad_version = fhir(gateway, f"/ImagingStudy/{published.study_uid}/_history/x")
    assert bad_version.status_code == 400
    assert bad_version.json()["resourceType"] == "OperationOutcome"
