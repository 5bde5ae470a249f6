"""Real FHIR client libraries against the server: fhirpy (search builder, chains, includes)
and fhirclient (the SMART on FHIR Python client with exact R4 models)."""

from __future__ import annotations

from fhirclient.models.observation import Observation as R4Observation
from fhirclient.models.patient import Patient as R4Patient
from fhirclient.server import FHIRServer
from fhirpy import SyncFHIRClient

from tests.integration.dicomweb.conftest import Gateway


def test_fhirpy_creates_searches_chains_and_includes(gateway: Gateway):
    client = SyncFHIRClient(
        f"{gateway.url}/fhir", authorization=f"Bearer {gateway.token('his-jhzx')}"
    )
    patient = client.resource(
        "Patient",
        identifier=[{"system": "urn:yilian:patient-id:jhzx", "value": "JH0001"}],
        name=[{"family": "王", "given": ["五"]}],
        gender="male",
        birthDate="1975-05-05",
    )
    patient.save()
    assert patient.id
    observation = client.resource(
        "Observation",
        status="final",
        code={"coding": [{"system": "http://loinc.org", "code": "718-7"}], "text": "血红蛋白"},
        subject=patient.to_reference(),
        effectiveDateTime="2026-11-22T10:00:00+08:00",
        valueQuantity={"value": 135, "unit": "g/L", "system": "http://unitsofmeasure.org",
                       "code": "g/L"},
    )  # fmt: skip
    observation.save()

    found = client.resources("Patient").search(family="王", birthdate__lt="1980").fetch()
    assert [p.id for p in found] == [patient.id]
    chained = (
        client.resources("Observation")
        .search(subject__Patient__identifier="urn:yilian:patient-id:jhzx|JH0001")
        .fetch()
    )
    assert [o.id for o in chained] == [observation.id]
    with_patient = (
        client.resources("Observation")
        .search(code="http://loinc.org|718-7")
        .include("Observation", "subject")
        .fetch_raw()
    )
    kinds = sorted(e["resource"]["resourceType"] for e in with_patient["entry"])
    assert kinds == ["Observation", "Patient"]
    assert client.resources("Observation").search(date__ge="2026-11-22").count() == 1

    patient["gender"] = "other"
    patient.save()
    assert client.reference("Patient", patient.id).to_resource()["gender"] == "other"


def test_fhirclient_models_round_trip(gateway: Gateway):
    server = FHIRServer(None, base_uri=f"{gateway.url}/fhir")
    server.session.headers["Authorization"] = f"Bearer {gateway.token('his-jhzx')}"
    patient = R4Patient(
        {
            "resourceType": "Patient",
            "name": [{"text": "赵六", "family": "赵", "given": ["六"]}],
            "gender": "female",
            "birthDate": "1988-08-08",
        }
    )
    created = patient.create(server)
    patient_id = created["id"]
    read = R4Patient.read(patient_id, server)
    assert read.name[0].family == "赵"
    assert read.birthDate.isostring == "1988-08-08"
    observation = R4Observation(
        {
            "resourceType": "Observation",
            "status": "final",
            "code": {"text": "心率"},
            "subject": {"reference": f"Patient/{patient_id}"},
            "valueQuantity": {"value": 72, "unit": "/min"},
        }
    )
    observation.create(server)
    search = R4Observation.where(struct={"subject": f"Patient/{patient_id}"})
    found = list(search.perform_resources_iter(server))
    assert [o.valueQuantity.value for o in found] == [72]
