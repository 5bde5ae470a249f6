"""Reading in the pathology centre (病理诊断): 婺城区人民医院's biopsy with two specimens, one
rejected and one accepted; the case is due 3 working days after acceptance (the alliance's
calendar); a pathologist writes 大体所见, 镜下所见 and the diagnosis with immunohistochemistry
results as coded Observations on the accepted block, a different senior pathologist verifies
(two-level sign-off), the clinic reads the final report and its PDF; days later a supplementary
report (补充报告) adds the HER2 result without changing what was said, and the clinic is told.
What is malformed or would change the signed report is refused with nothing written."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from gateway.workflow.form_text import BEIJING
from gateway.workflow.working_days import WorkingDays
from storage.db import reading
from storage.models import Alliance
from tests.integration.dicomweb.conftest import Gateway
from tests.integration.fhir.test_orders_in import tasks_of
from tests.integration.fhir.test_pathology_specimens import CLINIC, place_pathology_order
from tests.integration.fhir.test_pathology_specimens import step as specimen_step
from tests.integration.fhir.test_reading import parameters, pdf_text, read, state, step, told_about
from tests.integration.fhir.test_rest import call

CANONICAL = "http://yilian.example/fhir"
GROSS = f"{CANONICAL}/StructureDefinition/pathology-gross"
MICROSCOPIC = f"{CANONICAL}/StructureDefinition/pathology-microscopic"
SUPPLEMENT = f"{CANONICAL}/StructureDefinition/report-supplement"
MARKER = f"{CANONICAL}/CodeSystem/ihc-marker"
RESULT = f"{CANONICAL}/CodeSystem/ihc-result"
UCUM = "http://unitsofmeasure.org"


def ihc(id: str, marker: str, specimen: str, **value: object) -> dict:
    return {"resourceType": "Observation", "id": id, "status": "preliminary",
            "code": {"coding": [{"system": MARKER, "code": marker}]},
            "specimen": {"reference": f"Specimen/{specimen}"}, **value}  # fmt: skip


def graded(code: str) -> dict:
    return {"valueCodeableConcept": {"coding": [{"system": RESULT, "code": code}]}}


def percent(value: float) -> dict:
    return {"valueQuantity": {"value": value, "unit": "%", "system": UCUM, "code": "%"}}


def report(specimen: str, *results: dict) -> dict:
    return {
        "resourceType": "DiagnosticReport", "status": "preliminary",
        "extension": [
            {"url": GROSS, "valueString": "灰白色组织3块，大者0.3×0.2×0.2cm，全部取材。"},
            {"url": MICROSCOPIC, "valueString": "胃黏膜内见异型腺体浸润性生长，细胞核大深染。"},
        ],
        "conclusion": "（胃窦）中分化腺癌。",
        "contained": list(results) or [ihc("ck", "CK", specimen, **graded("positive"))],
    }  # fmt: skip


def accepted_case(gateway: Gateway) -> tuple[dict, dict, dict, datetime]:
    """The order, its accepted and its rejected specimen, and when the case became 待阅片."""
    order, [stomach, margin] = place_pathology_order(gateway, [("胃窦", 3), ("切缘", 1)])
    for one in (stomach, margin):
        assert specimen_step(gateway, one["id"], "send", CLINIC).status_code == 200
        assert specimen_step(gateway, one["id"], "receive", "his-jhzx").status_code == 200
    rejected = specimen_step(gateway, margin["id"], "reject", "wanglei", reason="container-damaged")
    assert rejected.status_code == 200, rejected.text
    assert specimen_step(gateway, stomach["id"], "accept", "wanglei").status_code == 200
    accepted_at = datetime.now(BEIJING)
    return order, stomach, margin, accepted_at


def test_a_biopsy_read_verified_delivered_and_supplemented(gateway: Gateway, tmp_path: Path):
    order, stomach, margin, accepted_at = accepted_case(gateway)
    [task] = tasks_of(gateway, order, CLINIC)
    assert state(task) == ("ready", "待阅片")

    # Due at the end of the 5th working day after acceptance (a local order code: the default
    # for histology), by the alliance's calendar.
    with reading(gateway.node.platform.sessions) as session:
        calendar = WorkingDays.of(session.get(Alliance, "jhzx-ylt").calendar)
    due = datetime.fromisoformat(task["restriction"]["period"]["end"])
    assert due == calendar.end_of(accepted_at, 5)
    assert due.astimezone(BEIJING).time().isoformat() == "00:00:00"

    # The pathologist claims and writes; a result on the rejected specimen, an unknown marker
    # and a diagnosis left out are refused.
    assert step(gateway, task, "claim", "wanglei").status_code == 200
    bad = [
        report(stomach["id"], ihc("x", "CK", margin["id"], **graded("positive"))),
        report(stomach["id"], ihc("x", "CK99", stomach["id"], **graded("positive"))),
        report(stomach["id"], ihc("x", "Ki-67", stomach["id"], **percent(130))),
        report(stomach["id"], ihc("x", "CK", stomach["id"], **graded("score-2"))),  # HER2's
        report(stomach["id"]) | {"conclusion": " "},
    ]
    for given in bad:
        refused = step(gateway, task, "submit", "wanglei", report=given)
        assert refused.status_code == 422, refused.text
        assert refused.json()["resourceType"] == "OperationOutcome"
    assert state(read(gateway, f"Task/{task['id']}", CLINIC)) == ("in-progress", "阅片中")

    written = report(
        stomach["id"],
        ihc("ck", "CK", stomach["id"], **graded("positive")),
        ihc("ki67", "Ki-67", stomach["id"], **percent(60)),
        ihc("mlh1", "MLH1", stomach["id"], **graded("intact")),
    )
    submitted = step(gateway, task, "submit", "wanglei", report=written)
    assert submitted.status_code == 200, submitted.text
    assert state(submitted.json()) == ("in-progress", "待审核")

    # Two-level sign-off: the author cannot verify, a senior pathologist does.
    assert step(gateway, task, "verify", "wanglei").status_code == 403
    verified = step(gateway, task, "verify", "chenjing")
    assert verified.status_code == 200, verified.text
    assert state(verified.json()) == ("completed", "已发布")
    verified = verified.json()
    report_ref = verified["output"][0]["valueReference"]["reference"]
    final = read(gateway, report_ref, CLINIC)
    assert final["status"] == "final"
    assert final["resultsInterpreter"][0]["reference"] == "Practitioner/chenjing"
    assert final["specimen"] == [{"reference": f"Specimen/{stomach['id']}"}]
    observations = {c["id"]: c for c in final["contained"]}
    assert final["result"] == [{"reference": f"#{id}"} for id in ("ck", "ki67", "mlh1")]
    assert {c["status"] for c in observations.values()} == {"final"}
    assert observations["ki67"]["valueQuantity"]["value"] == 60
    assert observations["ck"]["code"]["coding"][0] == {"system": MARKER, "code": "CK",
                                                       "display": "CK"}  # fmt: skip
    text, _ = pdf_text(final["presentedForm"][0], tmp_path)
    for shown in ("病理诊断报告", "大体所见", "灰白色组织3块", "镜下所见", "免疫组化",
                  "CK(+)，Ki-67(60%)，MLH1(表达)", "病理诊断", "（胃窦）中分化腺癌。"):  # fmt: skip
        assert shown in text, shown
    assert "检查所见" not in text

    # Days later, the HER2 result: a supplementary report by a senior pathologist.
    report_id = report_ref.split("/", 1)[1]
    amend = f"/DiagnosticReport/{report_id}/$amend"
    her2 = ihc("her2", "HER2", stomach["id"], **graded("score-2"))
    supplement = {"url": SUPPLEMENT, "extension": [{"url": "text",
                  "valueString": "HER2(2+)，建议行FISH检测。"}]}  # fmt: skip
    current = {k: v for k, v in final.items() if k not in ("meta", "presentedForm")}
    given = current | {"extension": [*current["extension"], supplement],
                       "contained": [*current["contained"], her2]}  # fmt: skip
    changing = given | {"conclusion": "（胃窦）低分化腺癌。"}
    for refused in (
        call(gateway, "POST", amend, "chenjing", body=parameters(
            report=changing, reason="免疫组化结果回报", kind="appended")),
        call(gateway, "POST", amend, "chenjing", body=parameters(
            report=current, reason="免疫组化结果回报", kind="appended")),  # no supplement
        call(gateway, "POST", amend, "wanglei", body=parameters(
            report=given, reason="免疫组化结果回报", kind="appended")),  # not a senior
    ):  # fmt: skip
        assert refused.status_code in (403, 422), refused.text
    assert read(gateway, report_ref, CLINIC)["meta"]["versionId"] == final["meta"]["versionId"]
    appended = call(gateway, "POST", amend, "chenjing", body=parameters(
        report=given, reason="免疫组化结果回报", kind="appended"))  # fmt: skip
    assert appended.status_code == 200, appended.text
    seen = read(gateway, report_ref, CLINIC)
    assert seen["status"] == "appended"
    assert seen["conclusion"] == final["conclusion"]
    assert [c["id"] for c in seen["contained"]] == ["ck", "ki67", "mlh1", "her2"]
    assert seen["result"][-1] == {"reference": "#her2"}
    [added] = [e for e in seen["extension"] if e["url"] == SUPPLEMENT]
    parts = {p["url"]: p for p in added["extension"]}
    assert parts["text"]["valueString"] == "HER2(2+)，建议行FISH检测。"
    assert parts["by"]["valueReference"]["reference"] == "Practitioner/chenjing"
    text, _ = pdf_text(seen["presentedForm"][0], tmp_path)
    assert "补充报告" in text
    assert "HER2(2+)，建议行FISH检测。" in text
    assert "HER2(2+)" in text.split("免疫组化")[1]
    assert "更正说明" not in text
    told = told_about(gateway, report_ref, "Organization/wcrm", CLINIC)
    assert any("报告已补充：免疫组化结果回报" in m["payload"][0]["contentString"] for m in told)


def test_a_frozen_section_is_due_thirty_minutes_after_acceptance(gateway: Gateway):
    order, [only] = place_pathology_order(gateway, [("甲状腺结节", 1)])
    current = read(gateway, f"ServiceRequest/{order['id']}", CLINIC)
    frozen = {k: v for k, v in current.items() if k != "meta"} | {"code": {"coding": [
        {"system": f"{CANONICAL}/CodeSystem/pathology-exam", "code": "frozen"}],
        "text": "术中冰冻病理诊断"}}  # fmt: skip
    assert call(gateway, "PUT", f"/ServiceRequest/{order['id']}", CLINIC, body=frozen).is_success
    assert specimen_step(gateway, only["id"], "receive", "his-jhzx").status_code == 200
    assert specimen_step(gateway, only["id"], "accept", "his-jhzx").status_code == 200
    accepted_at = datetime.now(BEIJING)
    [task] = tasks_of(gateway, order, CLINIC)
    due = datetime.fromisoformat(task["restriction"]["period"]["end"])
    assert abs((due - accepted_at).total_seconds() - 30 * 60) < 60
