"""Commissioned pathology (病理诊断绿色通道): 婺城区人民医院's HIS orders a pathology examination
with two specimens in formalin; each gets its specimen number and a printable label whose Code
128 bar code decodes to it; the clinic sends them, the lead hospital's pathology centre signs
for them, rejects one with its reason (the clinic sees the reason and is told) and accepts the
other (the case waits for a reader). What the clinic, another member or an impossible step asks
is refused with nothing changed, and malformed input is a 4xx OperationOutcome."""

from __future__ import annotations

import re

import zxingcpp
from defusedxml import ElementTree as ET
from PIL import Image, ImageDraw

from storage.clinical import lab_turnaround
from storage.db import reading
from tests.integration.dicomweb.conftest import Gateway
from tests.integration.fhir.test_orders_in import CATEGORY, tasks_of
from tests.integration.fhir.test_rest import call
from tests.servers import drain_outbox

CLINIC = "his-wcrm"
CENTRE = "his-jhzx"
PROFILE = "http://yilian.example/fhir/StructureDefinition/yilian-pathology-specimen"
NUMBER = "urn:oid:2.16.156.10011.1.14"
TRACKING = "http://yilian.example/fhir/StructureDefinition/specimen-tracking"
REJECTION = "http://yilian.example/fhir/StructureDefinition/specimen-rejection-reason"
PATIENT = {
    "resourceType": "Patient",
    "identifier": [{"system": "urn:yilian:patient-id:wcrm", "value": "WC0042"}],
    "name": [{"text": "李秀英", "family": "李", "given": ["秀英"]}],
    "gender": "female",
    "birthDate": "1968-05-20",
}


def specimen(order: dict, site: str, pieces: int) -> dict:
    """A biopsy in a prefilled 10% neutral buffered formalin container: taken out at 09:10
    (离体), fixation from 09:15."""
    return {
        "resourceType": "Specimen", "status": "available",
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0487",
                             "code": "TISS", "display": "Tissue"}], "text": "活检组织"},
        "subject": order["subject"],
        "request": [{"reference": f"ServiceRequest/{order['id']}"}],
        "collection": {
            "collectedDateTime": "2026-12-02T09:10:00+08:00",
            "bodySite": {"text": site},
            "quantity": {"value": pieces, "unit": "块", "system": "http://unitsofmeasure.org",
                         "code": "{pieces}"},
        },
        "processing": [{"description": "固定", "procedure": {"text": "固定"},
                        "additive": [{"reference": "#nbf"}],
                        "timeDateTime": "2026-12-02T09:15:00+08:00"}],
        "contained": [{"resourceType": "Substance", "id": "nbf",
                       "code": {"text": "10%中性缓冲福尔马林"}}],
        "container": [{"type": {"text": "标本瓶 60 ml"},
                       "additiveCodeableConcept": {"text": "10%中性缓冲福尔马林"}}],
    }  # fmt: skip


def pathology_order(patient_id: str) -> dict:
    """婺城区人民医院's biopsy order (a local code) for the lead hospital's pathology centre."""
    return {
        "resourceType": "ServiceRequest", "status": "active", "intent": "order",
        "priority": "routine",
        "category": [{"coding": [{"system": CATEGORY, "code": "pathology"}]}],
        "code": {"coding": [{"system": "urn:his:wcrm", "code": "BL-HJ"}], "text": "活检病理诊断"},
        "subject": {"reference": f"Patient/{patient_id}"},
        "requester": {"reference": "Organization/wcrm"},
        "performer": [{"reference": "Organization/jhzx"}],
        "authoredOn": "2026-12-02T09:30:00+08:00",
    }  # fmt: skip


def place_pathology_order(gateway: Gateway, sites: list[tuple[str, int]]) -> tuple[dict, list]:
    patient = call(gateway, "POST", "/Patient", CLINIC, body=PATIENT).json()
    order = pathology_order(patient["id"])
    placed = call(gateway, "POST", "/ServiceRequest", CLINIC, body=order)
    assert placed.status_code == 201, placed.text
    order = placed.json()
    made = []
    for site, pieces in sites:
        written = call(gateway, "POST", "/Specimen", CLINIC, body=specimen(order, site, pieces))
        assert written.status_code == 201, written.text
        made.append(written.json())
    drain_outbox(gateway.node.platform)
    return order, made


def step(gateway: Gateway, specimen_id: str, code: str, who: str, **values: str):
    given = [{"name": k, "valueCode" if k == "reason" else "valueString": v}
             for k, v in values.items()]  # fmt: skip
    body = {"resourceType": "Parameters", "parameter": given}
    return call(gateway, "POST", f"/Specimen/{specimen_id}/${code}", who, body=body)


def tracking(resource: dict) -> str:
    [extension] = [e for e in resource.get("extension", []) if e["url"] == TRACKING]
    [part] = [p for p in extension["extension"] if p["url"] == "step"]
    return part["valueCoding"]["code"]


def decoded(svg: str) -> tuple[str, str]:
    """The SVG label's bars drawn at 8 px per mm and read by ZXing: (format, text)."""
    root = ET.fromstring(svg)
    scale = 8
    image = Image.new("L", (50 * scale, 30 * scale), 255)
    draw = ImageDraw.Draw(image)
    for rect in root.iter("{http://www.w3.org/2000/svg}rect"):
        if "fill" in rect.attrib:
            continue  # the white background
        x, y = float(rect.get("x", 0)), float(rect.get("y", 0))
        w, h = float(rect.get("width", 0)), float(rect.get("height", 0))
        draw.rectangle([x * scale, y * scale, (x + w) * scale - 1, (y + h) * scale], fill=0)
    [found] = zxingcpp.read_barcodes(image)
    return found.format.name, found.text


def test_two_specimens_labelled_sent_received_one_rejected_one_accepted(gateway: Gateway):
    order, [stomach, margin] = place_pathology_order(gateway, [("胃窦", 3), ("切缘", 1)])
    [task] = tasks_of(gateway, order, CLINIC)
    assert task["owner"]["reference"] == "HealthcareService/jhzx-pathology"

    # Numbered by the server, and labelled.
    numbers = [s["accessionIdentifier"] for s in (stomach, margin)]
    assert stomach["meta"]["profile"] == [PROFILE]
    assert [tracking(s) for s in (stomach, margin)] == ["labelled", "labelled"]
    assert {n["system"] for n in numbers} == {NUMBER}
    assert all(re.fullmatch(r"BL\d{12}", n["value"]) for n in numbers)  # BL, day, 6 digits
    assert numbers[0]["value"] != numbers[1]["value"]
    label = call(gateway, "GET", f"/Specimen/{stomach['id']}/$label", CLINIC)
    assert label.status_code == 200, label.text
    assert label.headers["content-type"].startswith("image/svg+xml")
    svg = label.text
    root = ET.fromstring(svg)
    assert (root.get("width"), root.get("height")) == ("50mm", "30mm")
    assert decoded(svg) == ("Code128", numbers[0]["value"])
    for shown in ("李秀英", "女 58岁", "胃窦 3块", "婺城区人民医院", "采集 2026-12-02 09:10"):
        assert shown in svg
    margin_label = call(gateway, "GET", f"/Specimen/{margin['id']}/$label", CENTRE).text
    assert decoded(margin_label)[1] == numbers[1]["value"]  # the centre prints it too

    # Sent by the clinic; the centre may not send, the clinic may not receive.
    assert step(gateway, stomach["id"], "send", CENTRE).status_code == 403
    for one in (stomach, margin):
        sent = step(gateway, one["id"], "send", CLINIC)
        assert sent.status_code == 200, sent.text
        assert tracking(sent.json()) == "sent"
    refused = step(gateway, stomach["id"], "receive", CLINIC)
    assert refused.status_code == 403
    assert refused.json()["resourceType"] == "OperationOutcome"

    # Signed for by the centre's system.
    for one in (stomach, margin):
        received = step(gateway, one["id"], "receive", CENTRE)
        assert received.status_code == 200, received.text
        assert tracking(received.json()) == "received"
        assert received.json()["receivedTime"]
    assert step(gateway, margin["id"], "receive", CENTRE).status_code == 409  # once

    # The clinic trying to accept, and another member, change nothing.
    before = call(gateway, "GET", f"/Specimen/{margin['id']}", CENTRE).json()
    assert step(gateway, margin["id"], "accept", CLINIC).status_code == 403
    assert step(gateway, margin["id"], "accept", "sunli").status_code == 403  # a wcrm clinician
    assert step(gateway, margin["id"], "accept", "his-cd-sq").status_code == 403  # no scope
    assert step(gateway, margin["id"], "accept", "zhengwei").status_code == 404  # cd-sq's doctor
    assert call(gateway, "GET", f"/Specimen/{margin['id']}", "his-cd-sq").status_code == 404
    after = call(gateway, "GET", f"/Specimen/{margin['id']}", CENTRE).json()
    assert after["meta"]["versionId"] == before["meta"]["versionId"]

    # One rejected with its reason by a reader of the centre, the other accepted.
    no_reason = step(gateway, margin["id"], "reject", "wanglei")
    assert no_reason.status_code == 422
    assert no_reason.json()["resourceType"] == "OperationOutcome"
    assert step(gateway, margin["id"], "reject", "wanglei", reason="other").status_code == 422
    rejected = step(gateway, margin["id"], "reject", "wanglei", reason="insufficient-fixative",
                    text="固定液量不足标本体积的3倍")  # fmt: skip
    assert rejected.status_code == 200, rejected.text
    accepted = step(gateway, stomach["id"], "accept", "wanglei")
    assert accepted.status_code == 200, accepted.text
    assert step(gateway, margin["id"], "accept", "wanglei").status_code == 409  # after reject
    assert step(gateway, stomach["id"], "reject", "wanglei", reason="mismatch").status_code == 409

    # What the clinic sees.
    seen = call(gateway, "GET", f"/Specimen/{margin['id']}", CLINIC).json()
    assert (seen["status"], tracking(seen)) == ("unsatisfactory", "rejected")
    [reason] = [e["valueCodeableConcept"] for e in seen["extension"] if e["url"] == REJECTION]
    assert reason["coding"][0]["code"] == "insufficient-fixative"
    assert reason["text"] == "固定液不足：固定液量不足标本体积的3倍"
    told = call(gateway, "GET", "/Communication?recipient=Organization/wcrm", CLINIC).json()
    texts = [e["resource"]["payload"][0]["contentString"] for e in told.get("entry", [])]
    assert any(numbers[1]["value"] in t and "固定液不足" in t for t in texts)
    good = call(gateway, "GET", f"/Specimen/{stomach['id']}", CLINIC).json()
    assert (good["status"], tracking(good)) == ("available", "accepted")
    assert good["meta"]["profile"] == [PROFILE]
    [task] = tasks_of(gateway, order, CLINIC)
    assert (task["status"], task["businessStatus"]["text"]) == ("ready", "待阅片")
    with reading(gateway.node.platform.sessions) as session:  # not a lab order's milestones
        assert lab_turnaround.of_order(session, order["id"]) is None


def test_all_specimens_rejected_returns_the_case_and_plain_writes_cannot_track(gateway: Gateway):
    order, [only] = place_pathology_order(gateway, [("宫颈", 2)])
    assert step(gateway, only["id"], "send", CLINIC).status_code == 200
    rejected = step(gateway, only["id"], "reject", CENTRE, reason="container-damaged")
    assert rejected.status_code == 200, rejected.text
    [task] = tasks_of(gateway, order, CLINIC)
    assert (task["status"], task["businessStatus"]["text"]) == ("rejected", "已退回")
    assert "标本拒收" in task["statusReason"]["text"]

    # The sender cannot write tracking itself, nor undo a rejection by a plain PUT.
    current = call(gateway, "GET", f"/Specimen/{only['id']}", CLINIC).json()
    undone = {k: v for k, v in current.items() if k not in ("meta", "extension")}
    undone["status"] = "available"
    assert call(gateway, "PUT", f"/Specimen/{only['id']}", CLINIC, body=undone).status_code == 409
    forged = specimen(order, "宫颈", 1) | {"extension": current["extension"]}
    assert call(gateway, "POST", "/Specimen", CLINIC, body=forged).status_code == 409
    moved = {k: v for k, v in current.items() if k not in ("meta", "request")}
    assert call(gateway, "PUT", f"/Specimen/{only['id']}", CLINIC, body=moved).status_code == 409
    # Specimens come from the ordering hospital, for the order's patient.
    assert (
        call(gateway, "POST", "/Specimen", CENTRE, body=specimen(order, "宫颈", 1)).status_code
        == 403
    )
    other = call(gateway, "POST", "/Patient", CLINIC, body=PATIENT | {"identifier": [
        {"system": "urn:yilian:patient-id:wcrm", "value": "WC0043"}]}).json()  # fmt: skip
    stranger = specimen(order, "宫颈", 1) | {"subject": {"reference": f"Patient/{other['id']}"}}
    assert call(gateway, "POST", "/Specimen", CLINIC, body=stranger).status_code == 422
    noted = {k: v for k, v in current.items() if k != "meta"} | {"note": [{"text": "已重新取材"}]}
    assert call(gateway, "PUT", f"/Specimen/{only['id']}", CLINIC, body=noted).status_code == 200


def test_malformed_specimens_and_steps_are_refused(gateway: Gateway):
    order, [one] = place_pathology_order(gateway, [("甲状腺", 1)])
    bad = specimen(order, "甲状腺", 1)
    bad["collection"]["quantity"] = "三块"
    answer = call(gateway, "POST", "/Specimen", CLINIC, body=bad)
    assert answer.status_code in (400, 422)
    assert answer.json()["resourceType"] == "OperationOutcome"
    own = specimen(order, "甲状腺", 1) | {
        "accessionIdentifier": {"system": "urn:his:wcrm:bl", "value": "WC2612020007"}
    }
    kept = call(gateway, "POST", "/Specimen", CLINIC, body=own)
    assert kept.status_code == 201, kept.text
    assert kept.json()["accessionIdentifier"]["value"] == "WC2612020007"  # the HIS's own number
    nowhere = specimen(order, "甲状腺", 1)
    del nowhere["collection"]["bodySite"]  # the profile needs the body site
    refused = call(gateway, "POST", "/Specimen", CLINIC, body=nowhere)
    assert refused.status_code == 422
    assert "bodySite" in refused.text
    not_parameters = call(gateway, "POST", f"/Specimen/{one['id']}/$send", CLINIC,
                          body={"resourceType": "Patient"})  # fmt: skip
    assert not_parameters.status_code == 400
    assert not_parameters.json()["resourceType"] == "OperationOutcome"
    assert step(gateway, "no-such-specimen", "send", CLINIC).status_code == 404
    unknown = step(gateway, one["id"], "reject", CENTRE, reason="too-small")
    assert unknown.status_code == 422
    current = call(gateway, "GET", f"/Specimen/{one['id']}", CLINIC).json()
    assert tracking(current) == "labelled"
    assert current["meta"]["versionId"] == one["meta"]["versionId"]  # nothing written
    placed = call(gateway, "GET", f"/ServiceRequest/{order['id']}", CLINIC).json()
    revoked = {k: v for k, v in placed.items() if k != "meta"} | {"status": "revoked"}
    assert call(gateway, "PUT", f"/ServiceRequest/{order['id']}", CLINIC, body=revoked).is_success
    assert step(gateway, one["id"], "send", CLINIC).status_code == 409  # the order is revoked


def test_a_his_sends_the_order_and_its_specimens_in_one_transaction(gateway: Gateway):
    """The HIS's usual shape: one transaction Bundle, ``urn:uuid:`` references; all or nothing."""
    patient = call(gateway, "POST", "/Patient", CLINIC, body=PATIENT).json()
    placeholder = "urn:uuid:7d2e0f4a-0000-4000-8000-000000000001"
    order = {
        "resourceType": "ServiceRequest", "status": "active", "intent": "order",
        "category": [{"coding": [{"system": CATEGORY, "code": "pathology"}]}],
        "code": {"text": "乳腺肿物切除标本病理诊断"},
        "subject": {"reference": f"Patient/{patient['id']}"},
        "requester": {"reference": "Organization/wcrm"},
        "authoredOn": "2026-12-02T10:00:00+08:00",
    }  # fmt: skip
    as_placed = {"id": placeholder, "subject": order["subject"]}
    first, second = specimen(as_placed, "左乳肿物", 1), specimen(as_placed, "左腋窝淋巴结", 2)
    for one in (first, second):
        one["request"] = [{"reference": placeholder}]

    def bundle(*specimens: dict) -> dict:
        entries = [
            {
                "fullUrl": placeholder,
                "resource": order,
                "request": {"method": "POST", "url": "ServiceRequest"},
            }
        ]
        entries += [{"resource": s, "request": {"method": "POST", "url": "Specimen"}}
                    for s in specimens]  # fmt: skip
        return {"resourceType": "Bundle", "type": "transaction", "entry": entries}

    nowhere = {k: v for k, v in second.items() if k != "collection"}
    refused = call(gateway, "POST", "", CLINIC, body=bundle(first, nowhere))
    assert refused.status_code == 422  # no 离体时间 or body site: nothing is written
    found = call(gateway, "GET", f"/Specimen?subject=Patient/{patient['id']}", CLINIC).json()
    assert found.get("entry", []) == []
    answer = call(gateway, "POST", "", CLINIC, body=bundle(first, second))
    assert answer.status_code == 200, answer.text
    found = call(gateway, "GET", f"/Specimen?subject=Patient/{patient['id']}", CLINIC).json()
    made = [e["resource"] for e in found["entry"]]
    assert len({s["accessionIdentifier"]["value"] for s in made}) == 2
    assert {tracking(s) for s in made} == {"labelled"}
    label = call(gateway, "GET", f"/Specimen/{made[0]['id']}/$label", CLINIC)
    assert decoded(label.text)[1] == made[0]["accessionIdentifier"]["value"]
