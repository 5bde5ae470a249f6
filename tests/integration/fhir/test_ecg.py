"""ECG recordings in, one FHIR Observation each: the clinic's ECG cart pushes the pydicom sample
(a real Mortara el250 recording) and a generated 12-lead recording with DCMTK ``storescu``; once
the study is stable the clinic's HIS finds both by the MDC code with the device's measurements;
an HL7 aECG document uploaded over HTTP becomes the same kind of Observation; a malformed one is
refused with an OperationOutcome and nothing is stored.  One gateway for the module."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import pydicom
import pytest
from defusedxml.ElementTree import fromstring
from sqlalchemy import func, select

from fhir_profiles.validation import validate
from storage.db import transaction
from storage.dicom import emit_stable_studies
from storage.models import FhirResource
from tests.dicom_data import Study
from tests.ecg_data import LEADS, MEASURED, aecg_from_dicom, pydicom_sample, synthetic, twelve_lead
from tests.integration.dicomweb.conftest import Gateway, start_gateway
from tests.integration.fhir.test_rest import call
from tests.servers import drain_outbox

ECG = "urn:oid:2.16.840.1.113883.6.24|131328"
LOINC = "http://loinc.org"
XML = "application/hl7-v3+xml"
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, demo_sqlite: Path) -> Iterator[Gateway]:
    with start_gateway(tmp_path_factory.mktemp("ecg"), demo_sqlite) as running:
        yield running


def stable(gateway: Gateway) -> None:
    """The quiet period passed (as the worker's periodic check sees it), the worker ran."""
    later = datetime.now(UTC) + timedelta(seconds=61)
    emit_stable_studies(gateway.node.platform.sessions, timedelta(seconds=60), now=later)
    drain_outbox(gateway.node.platform)


def ecgs(gateway: Gateway, who: str, query: str = "") -> list[dict]:
    found = call(gateway, "GET", f"/Observation?code={ECG}{query}", who)
    assert found.status_code == 200, found.text
    return [e["resource"] for e in found.json().get("entry", [])]


def figure(observation: dict, loinc: str) -> float:
    [value] = [
        c["valueQuantity"]["value"] for c in observation["component"]
        if any(x["system"] == LOINC and x["code"] == loinc for x in c["code"]["coding"])
    ]  # fmt: skip
    return value


def test_ecgs_pushed_by_the_cart_are_found_by_the_clinic(gateway: Gateway, tmp_path: Path):
    sample_uid = pydicom.dcmread(pydicom_sample()).SOPInstanceUID
    study = Study(accession="ECG1", description="常规心电图")
    truth = synthetic()
    generated = twelve_lead(study, truth, tmp_path / "cart")
    pushed = gateway.node.storescu(pydicom_sample(), generated)
    assert pushed.returncode == 0, pushed.stderr
    assert ecgs(gateway, "his-tx-wsy") == []  # not stable yet
    stable(gateway)

    found = {o["id"]: o for o in ecgs(gateway, "his-tx-wsy")}
    by_device = found[sample_uid]
    assert validate(by_device, "Observation") == []
    assert by_device["identifier"] == [
        {"system": "urn:dicom:uid", "value": f"urn:oid:{sample_uid}"}
    ]
    # The Mortara el250's own figures.
    assert [figure(by_device, c) for c in ("8625-6", "8633-0", "8634-8", "8636-3")] == [
        161, 75, 368, 370
    ]  # fmt: skip
    assert [n["text"] for n in by_device["note"]] == ["RITMO SINUSALE", "ECG NORMALE"]
    assert by_device["subject"]["identifier"] == {
        "system": "urn:yilian:patient-id:tx-wsy", "value": "642341"
    }  # fmt: skip
    assert by_device["derivedFrom"][0]["reference"].startswith("ImagingStudy/")

    [ours] = [o for o in found.values() if o["id"] != sample_uid]
    assert figure(ours, "8867-4") == MEASURED["HR"]
    assert figure(ours, "8636-3") == MEASURED["QTc"]
    leads = [c for c in ours["component"] if "valueSampledData" in c]
    assert len(leads) == len(LEADS) == 12
    lead_ii = np.array(leads[1]["valueSampledData"]["data"].split(), dtype=np.int16)
    assert np.array_equal(lead_ii, truth.samples[2])
    # The study's organization's readers see it; another clinic does not.
    assert sample_uid in {o["id"] for o in ecgs(gateway, "his-jhzx")}
    assert ecgs(gateway, "his-cz-sq") == []
    # Its chart, as the clinic prints it: true paper scale, 1 mV calibration, lead II's strip.
    chart = call(gateway, "GET", f"/Observation/{sample_uid}/$chart", "his-tx-wsy",
                 Accept="image/svg+xml")  # fmt: skip
    assert chart.status_code == 200, chart.text
    assert chart.headers["content-type"].startswith("image/svg+xml")
    svg = fromstring(chart.content)
    assert svg.get("viewBox") == f"0 0 {svg.get('width')[:-2]} {svg.get('height')[:-2]}"
    pulse = svg.find(f"{SVG}path[@class='calibration']").get("d")[1:].replace("L", " ").split()
    heights = [float(y) for y in pulse[1::2]]
    assert max(heights) - min(heights) == 10  # 1 mV at 10 mm/mV
    [strip] = svg.findall(f"{SVG}polyline[@class='rhythm']")
    x = np.array(strip.get("points").split(), dtype=float)[0::2]
    assert x[-1] - x[0] == pytest.approx(250, abs=0.1)  # 10 s at 25 mm/s
    png = call(gateway, "GET", f"/Observation/{sample_uid}/$chart", "his-tx-wsy",
               Accept="image/png")  # fmt: skip
    assert png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG\r\n\x1a\n")
    other = call(gateway, "GET", f"/Observation/{sample_uid}/$chart", "his-cz-sq")
    assert other.status_code == 404
    as_json = call(gateway, "GET", f"/Observation/{sample_uid}/$chart", "his-tx-wsy",
                   Accept="application/json")  # fmt: skip
    assert as_json.status_code == 406
    # Stable again (nothing new): the Observations are not written again.
    stable(gateway)
    current = call(gateway, "GET", f"/Observation/{sample_uid}", "his-tx-wsy").json()
    assert current["meta"]["versionId"] == "1"


def test_an_aecg_upload_becomes_the_same_observation(gateway: Gateway, tmp_path: Path):
    measured = {"HR": 61, "PR": 161, "QRS": 75, "QT": 368, "QTc": 370}
    document = aecg_from_dicom(pydicom_sample(), "TX000888", measured, ("窦性心律", "正常心电图"))
    sent = call(gateway, "POST", "/Observation/$ingest-aecg", "his-jhzx", document,
                **{"Content-Type": XML})  # fmt: skip
    assert sent.status_code == 201, sent.text
    assert sent.headers["location"].endswith("/_history/1")
    observation = sent.json()
    assert validate(observation, "Observation") == []
    assert [figure(observation, c) for c in ("8867-4", "8625-6", "8633-0", "8634-8", "8636-3")] == [
        61, 161, 75, 368, 370
    ]  # fmt: skip
    assert [n["text"] for n in observation["note"]] == ["窦性心律", "正常心电图"]
    lead_i = observation["component"][-12]["valueSampledData"]
    expected = pydicom.dcmread(pydicom_sample()).waveform_array(0)[:, 0]
    got = (
        lead_i["origin"]["value"] + np.array(lead_i["data"].split(), dtype=float) * lead_i["factor"]
    )
    assert np.allclose(got, expected)
    assert observation["subject"]["identifier"] == {
        "system": "urn:yilian:patient-id:jhzx", "value": "TX000888"
    }  # fmt: skip
    identifier = observation["identifier"][0]
    found = ecgs(gateway, "his-jhzx", f"&identifier={identifier['system']}|{identifier['value']}")
    assert [o["id"] for o in found] == [observation["id"]]
    again = call(gateway, "POST", "/Observation/$ingest-aecg", "his-jhzx", document,
                 **{"Content-Type": XML})  # fmt: skip
    assert again.status_code == 200
    assert again.json()["meta"]["versionId"] == "1"


def observations(gateway: Gateway) -> int:
    with transaction(gateway.node.platform.sessions) as session:
        return session.scalar(
            select(func.count()).where(FhirResource.resource_type == "Observation")
        )


@pytest.mark.parametrize(
    "body",
    [
        b"<AnnotatedECG xmlns='urn:hl7-org:v3'><id root='1.2.3'/>",  # cut off
        b"<ClinicalDocument xmlns='urn:hl7-org:v3'/>",  # not an aECG
        b"<!DOCTYPE x [<!ENTITY a 'aaaa'>]><AnnotatedECG xmlns='urn:hl7-org:v3'>&a;</AnnotatedECG>",
    ],
)
def test_a_malformed_aecg_is_refused_and_nothing_is_stored(gateway: Gateway, body: bytes):
    before = observations(gateway)
    refused = call(gateway, "POST", "/Observation/$ingest-aecg", "his-jhzx", body,
                   **{"Content-Type": XML})  # fmt: skip
    assert refused.status_code == 400, refused.text
    assert refused.json()["resourceType"] == "OperationOutcome"
    assert observations(gateway) == before


def test_an_upload_needs_the_observation_write_scope(gateway: Gateway):
    document = aecg_from_dicom(pydicom_sample(), "TX000889", {}, ())
    refused = call(gateway, "POST", "/Observation/$ingest-aecg", "his-tx-wsy", document,
                   **{"Content-Type": XML})  # fmt: skip
    assert refused.status_code == 403
    assert refused.json()["issue"][0]["code"] == "forbidden"
    json_body = httpx.post(
        f"{gateway.url}/fhir/Observation/$ingest-aecg",
        headers={"Authorization": f"Bearer {gateway.token('his-jhzx')}"},
        json={"resourceType": "Observation"},
    )
    assert json_body.status_code == 415
