"""The alliance directory as a member's HIS finds it with plain FHIR (IHE mCSD shapes): the
institutions, the shared centres and whom they serve, who reads and signs, where the images
are — written only by the registry, and in step with it after an import."""

from __future__ import annotations

from pathlib import Path

import yaml

from storage import import_alliance_file
from tests.conftest import DEMO_ALLIANCE
from tests.integration.dicomweb.conftest import Gateway
from tests.integration.fhir.test_rest import call
from tests.servers import drain_outbox

CLINIC = "his-tx-wsy"  # a township health centre's HIS
ROLE = "http://yilian.example/fhir/CodeSystem/practitioner-role"


def ids(bundle: dict) -> list[str]:
    return sorted(e["resource"]["id"] for e in bundle.get("entry", []))


def test_a_clinic_his_finds_its_district_hospital_by_credit_code(gateway: Gateway):
    found = call(gateway, "GET", "/Organization?identifier=urn:yilian:uscc|12330702470120100X",
                 CLINIC).json()  # fmt: skip
    assert ids(found) == ["wcrm"]
    wcrm = call(gateway, "GET", "/Organization/wcrm", CLINIC).json()
    assert wcrm["name"] == "婺城区人民医院"
    assert wcrm["type"][0]["coding"][0]["code"] == "county_hospital"
    assert wcrm["partOf"] == {"reference": "Organization/jhzx-ylt"}
    alliance = call(gateway, "GET", "/Organization/jhzx-ylt", CLINIC).json()
    assert alliance["type"][1]["text"] == "城市医疗集团"


def test_the_shared_centres_and_the_members_each_serves(gateway: Gateway):
    centres = call(gateway, "GET", "/HealthcareService?organization=jhzx", CLINIC).json()
    assert ids(centres) == ["jhzx-ecg", "jhzx-imaging", "jhzx-lab", "jhzx-pathology"]
    served = call(
        gateway, "GET", "/OrganizationAffiliation?service=HealthcareService/jhzx-pathology",
        CLINIC,
    ).json()  # fmt: skip
    members = sorted(e["resource"]["participatingOrganization"]["reference"]
                     for e in served["entry"])  # fmt: skip
    assert members == ["Organization/wcdy", "Organization/wcrm"]
    lead = call(gateway, "GET", "/OrganizationAffiliation/jhzx-ylt.jhzx", CLINIC).json()
    assert lead["code"][0]["coding"][0]["code"] == "lead"


def test_who_may_sign_reports_in_the_imaging_centre(gateway: Gateway):
    query = f"/PractitionerRole?organization=jhzx&role={ROLE}|senior_reader"
    seniors = call(gateway, "GET", f"{query}&_include=PractitionerRole:practitioner", CLINIC)
    entries = seniors.json()["entry"]
    roles = [e["resource"] for e in entries if e["search"]["mode"] == "match"]
    people = [e["resource"] for e in entries if e["search"]["mode"] == "include"]
    assert sorted(r["id"] for r in roles) == ["chenjing", "zhaomin"]
    assert {"reference": "HealthcareService/jhzx-imaging"} in roles[0]["healthcareService"]
    assert sorted(p["name"][0]["text"] for p in people) == ["赵敏", "陈静"]
    dicomweb = call(gateway, "GET", "/Endpoint/yilian-dicomweb", CLINIC).json()
    assert dicomweb["address"] == f"{gateway.url}/dicomweb"


def test_clients_cannot_write_the_directory(gateway: Gateway):
    before = call(gateway, "GET", "/Organization/wcrm", "his-jhzx").json()
    renamed = {k: v for k, v in before.items() if k != "meta"} | {"name": "改名"}
    assert call(gateway, "PUT", "/Organization/wcrm", "his-jhzx", body=renamed).status_code == 405
    new = {"resourceType": "Organization", "name": "假医院"}
    assert call(gateway, "POST", "/Organization", "his-jhzx", body=new).status_code == 405
    assert call(gateway, "DELETE", "/HealthcareService/jhzx-ecg", "his-jhzx").status_code == 405
    after = call(gateway, "GET", "/Organization/wcrm", "his-jhzx").json()
    assert after == before


def test_the_directory_follows_an_import_of_the_alliance_file(gateway: Gateway, tmp_path: Path):
    alliance = yaml.safe_load(DEMO_ALLIANCE.read_text())
    alliance["organizations"][1]["name"] = "婺城区人民医院（新院区）"
    alliance["alliances"][0]["members"].remove("fc-wsy")
    changed = tmp_path / "alliance.yaml"
    changed.write_text(yaml.safe_dump(alliance, allow_unicode=True))
    platform = gateway.node.platform
    assert import_alliance_file(platform.sessions, changed).changed
    drain_outbox(platform)  # the worker's registry.changed handler
    assert call(gateway, "GET", "/Organization/wcrm", CLINIC).json()["name"].endswith("（新院区）")
    assert (
        call(gateway, "GET", "/OrganizationAffiliation/jhzx-ylt.fc-wsy", CLINIC).status_code == 410
    )
    assert "partOf" not in call(gateway, "GET", "/Organization/fc-wsy", CLINIC).json()
