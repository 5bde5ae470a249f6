"""What the mutual-recognition tests (FHIR operations and CDS Hooks) set up: a person known to
several members by one 身份证号, the CT reports and potassium results those members keep, the
clinic's orders; and how they ask and decide."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pydicom

from gateway.study_publish import publish_stable_study
from storage.identity_numbers import ID_CARD
from tests.dicom_data import Study, write_series
from tests.integration.dicomweb.conftest import Gateway, seed
from tests.integration.fhir.referral_setup import CLINIC, kept
from tests.integration.fhir.test_rest import call

DCM = "http://dicom.nema.org/resources/ontology/DCM"
SNOMED = "http://snomed.info/sct"
HEAD, CHEST = "69536005", "51185008"
OTHER_CLINIC = "his-cz-sq"
_numbers = itertools.count(1)


def number() -> str:
    return f"33070219750101{next(_numbers) + 5000:04d}"


def ago(days: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat(timespec="seconds")


def ct(subject: dict[str, Any], site: str, text: str, **more: Any) -> dict[str, Any]:
    return {
        "resourceType": "ServiceRequest", "status": "active", "intent": "order",
        "code": {"coding": [{"system": DCM, "code": "CT"}], "text": text},
        "bodySite": [{"coding": [{"system": SNOMED, "code": site}]}],
        "subject": {"reference": f"Patient/{subject['id']}"}, **more,
    }  # fmt: skip


def ct_images(gateway: Gateway, directory: Path, org: str = "jhzx") -> str:
    """A head CT image the institution's scanner stored, published (its ImagingStudy): the
    Study Instance UID."""
    study = Study(description="头颅CT平扫")
    [path] = write_series(study, directory, 1, "CT")
    image = pydicom.dcmread(path)
    image.BodyPartExamined = "HEAD"
    image.save_as(path)
    seed(gateway, path, org=org, ae="CT1")
    publish_stable_study(gateway.node.platform, {"study_uid": study.study_uid, "org_id": org})
    return study.study_uid


def ct_report(
    gateway: Gateway,
    org: str,
    subject: dict,
    days: float,
    site: str = HEAD,
    status: str = "final",
    study: str | None = None,
) -> dict[str, Any]:
    """A CT the institution did and reported ``days`` ago (its RIS keeps both; the report
    reads the images of ``study`` when given)."""
    order = kept(gateway, org, ct(subject, site, "头颅CT平扫" if site == HEAD else "胸部CT平扫"))
    images = {"imagingStudy": [{"reference": f"ImagingStudy/{study}"}]} if study else {}
    return kept(gateway, org, {
        "resourceType": "DiagnosticReport", "status": status,
        "code": order["code"], "subject": order["subject"],
        "basedOn": [{"reference": f"ServiceRequest/{order['id']}"}],
        "effectiveDateTime": ago(days), "issued": ago(days - 0.1),
        "performer": [{"reference": f"Organization/{org}"}],
        "conclusion": "颅脑CT平扫未见明显异常。", **images,
    })  # fmt: skip


def potassium(gateway: Gateway, subject: dict, days: float) -> dict[str, Any]:
    return kept(gateway, "jhzx", {
        "resourceType": "Observation", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "2823-3"}], "text": "钾"},
        "subject": {"reference": f"Patient/{subject['id']}"}, "effectiveDateTime": ago(days),
        "valueQuantity": {"value": 4.1, "unit": "mmol/L"},
        "performer": [{"reference": "Organization/jhzx"}],
    })  # fmt: skip


def local(gateway: Gateway, org: str, id_number: str) -> dict[str, Any]:
    """The same person as ``org``'s own systems registered them."""
    return kept(gateway, org, {
        "resourceType": "Patient",
        "identifier": [{"system": ID_CARD, "value": id_number}],
        "name": [{"text": "王小明"}], "gender": "male", "birthDate": "1975-01-01",
    })  # fmt: skip


def offered(gateway: Gateway, order: dict[str, Any], who: str = CLINIC) -> dict[str, Any]:
    if "id" in order:
        answer = call(gateway, "GET", f"/ServiceRequest/{order['id']}/$recognizable-results", who)
    else:
        body = {"resourceType": "Parameters", "parameter": [{"name": "order", "resource": order}]}
        answer = call(gateway, "POST", "/ServiceRequest/$recognizable-results", who, body=body)
    assert answer.status_code == 200, answer.text
    return answer.json()


def priors(answer: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {part["name"]: next(v for k, v in part.items() if k.startswith("value"))
         for part in p["part"]}
        for p in answer["parameter"] if p["name"] == "prior"
    ]  # fmt: skip


def decide(gateway: Gateway, order: dict, prior: str, who: str = CLINIC, **given: Any):
    parameter = [{"name": "prior", "valueReference": {"reference": prior}}]
    for name, value in given.items():
        key = "valueBoolean" if isinstance(value, bool) else (
            "valueString" if name == "reasonText" else "valueCode")  # fmt: skip
        parameter.append({"name": name, key: value})
    body = {"resourceType": "Parameters", "parameter": parameter}
    return call(gateway, "POST", f"/ServiceRequest/{order['id']}/$recognition-decision", who,
                body=body)  # fmt: skip
