"""Search values extracted with the official R4 SearchParameter expressions."""

from __future__ import annotations

from fhir_profiles.search_values import SearchValue, date_range, extract, fhirpath, parameters

PATIENT = {
    "resourceType": "Patient",
    "id": "p1",
    "identifier": [{"system": "urn:yilian:patient-id:tx-wsy", "value": "TX000123"}],
    "name": [{"text": "张三丰", "family": "张", "given": ["三丰"]}],
    "gender": "male",
    "birthDate": "1980-01",
    "managingOrganization": {"reference": "Organization/tx-wsy"},
}
OBSERVATION = {
    "resourceType": "Observation",
    "id": "o1",
    "status": "final",
    "code": {"coding": [{"system": "http://loinc.org", "code": "2345-7"}], "text": "葡萄糖"},
    "subject": {"reference": "Patient/p1"},
    "effectiveDateTime": "2026-11-23T09:30:00+08:00",
    "valueQuantity": {"value": 6.1, "unit": "mmol/L", "system": "http://unitsofmeasure.org",
                      "code": "mmol/L"},
}  # fmt: skip


def values(resource: dict, param: str) -> list[SearchValue]:
    return [v for v in extract(resource) if v.param == param]


def test_patient_values():
    assert values(PATIENT, "identifier") == [
        SearchValue("identifier", "token", system="urn:yilian:patient-id:tx-wsy", code="TX000123")
    ]
    assert {v.text for v in values(PATIENT, "name")} == {"张三丰", "张", "三丰"}
    assert values(PATIENT, "gender")[0].code == "male"
    [birth] = values(PATIENT, "birthdate")
    assert (birth.low, birth.high) == ("1980-01-01T00:00:00", "1980-01-31T23:59:59")
    assert values(PATIENT, "organization")[0].code == "Organization/tx-wsy"
    assert values(PATIENT, "_id") == []  # a column of the store, not an index row


def test_observation_values():
    codes = values(OBSERVATION, "code")
    assert SearchValue("code", "token", system="http://loinc.org", code="2345-7") in codes
    assert SearchValue("code", "token", text="葡萄糖") in codes
    assert values(OBSERVATION, "subject")[0].code == "Patient/p1"
    assert values(OBSERVATION, "patient")[0].code == "Patient/p1"  # resolve() is Patient
    [date] = values(OBSERVATION, "date")
    assert (date.low, date.high) == ("2026-11-23T01:30:00", "2026-11-23T01:30:00")  # in UTC
    [quantity] = values(OBSERVATION, "value-quantity")
    assert (quantity.number, quantity.code) == (6.1, "mmol/L")


def test_date_precision():
    assert date_range("2026") == ("2026-01-01T00:00:00", "2026-12-31T23:59:59")
    assert date_range("2024-02") == ("2024-02-01T00:00:00", "2024-02-29T23:59:59")
    assert date_range("2026-11-23T09:30Z") == ("2026-11-23T09:30:00", "2026-11-23T09:30:59")
    assert date_range("not a date") is None


def test_extension_parameters_take_only_their_url():
    """``Observation.extension('url')`` walked on the JSON: the extensions of that url, as
    fhirpathpy gives them."""
    gene = "http://hl7.org/fhir/StructureDefinition/observation-geneticsGene"
    extensions = [
        {"url": "http://yilian.example/fhir/StructureDefinition/recognition-mark",
         "valueString": "浙HR"},
        {"url": gene, "valueCodeableConcept": {"coding": [
            {"system": "http://www.genenames.org", "code": "HGNC:1100"}]}},
    ]  # fmt: skip
    marked = {**OBSERVATION, "extension": extensions}
    [parameter] = [p for p in parameters("Observation") if p.code == "gene-identifier"]
    assert parameter.evaluate(marked, {}) == [extensions[1]]
    assert fhirpath(f"Observation.extension('{gene}')")(marked, {}) == [extensions[1]]
    assert parameter.evaluate({**marked, "extension": extensions[:1]}, {}) == []
