"""Critical values (危急值): the lab's HH/LL result becomes an alert to the clinic that ordered,
which must acknowledge it with what it read back before the deadline; unacknowledged, it
escalates; the whole chain and the timeliness figures can be read back."""

from __future__ import annotations

import time

import httpx
from sqlalchemy import select

from storage import transaction
from storage.clinical.critical_alerts import escalated_to
from storage.models import AuditRecord
from storage.registry import heads_of
from tests.integration.lab.conftest import POTASSIUM, SODIUM, Lab, oru
from tests.integration.lab.test_results import clinic_orders
from tests.servers import drain_outbox


def post(lab: Lab, path: str, body: dict, who: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {lab.gateway.token(who)}"}
    return httpx.post(f"{lab.gateway.url}/fhir{path}", json=body, headers=headers, timeout=30)


def read_back(text: str) -> dict:
    return {"resourceType": "Parameters", "parameter": [{"name": "readBack", "valueString": text}]}


def run_worker(lab: Lab) -> None:
    drain_outbox(lab.platform)


def the_alert(lab: Lab, who: str = "his-tx-wsy") -> dict:
    found = lab.fhir("/Communication?category=alert", who=who)
    assert found.get("total") == 1, found
    return found["entry"][0]["resource"]


def test_the_ordering_clinic_is_alerted_and_acknowledges_with_read_back(lab: Lab):
    _, order = clinic_orders(lab)
    assert lab.send(oru("CRIT-0001", [POTASSIUM, SODIUM]))["MSA"][1] == "AA"
    alert = the_alert(lab)
    assert alert["status"] == "in-progress"
    assert alert["priority"] == "stat"
    assert alert["recipient"] == [{"reference": "Organization/tx-wsy"}]
    assert alert["sender"] == {"reference": "Organization/jhzx"}
    assert alert["basedOn"] == [{"reference": f"ServiceRequest/{order}"}]
    assert alert["payload"][0]["contentString"] == "危急值：钾 6.8 mmol/L（危急高值，参考 3.5-5.3）"
    assert lab.fhir("/Communication?category=alert", who="his-cd-sq").get("total") == 0

    refused = post(lab, f"/Communication/{alert['id']}/$acknowledge", read_back("x"), "his-cd-sq")
    assert refused.status_code == 403
    empty = post(lab, f"/Communication/{alert['id']}/$acknowledge", {}, "his-tx-wsy")
    assert empty.status_code == 400
    done = post(lab, f"/Communication/{alert['id']}/$acknowledge", read_back("钾6.8，已复述"),
                "his-tx-wsy")  # fmt: skip
    assert done.status_code == 200, done.text
    assert done.json()["inResponseTo"] == [{"reference": f"Communication/{alert['id']}"}]
    assert done.json()["payload"][0]["contentString"] == "复述：钾6.8，已复述"
    again = post(lab, f"/Communication/{alert['id']}/$acknowledge", read_back("again"),
                 "his-tx-wsy")  # fmt: skip
    assert again.status_code == 403
    assert the_alert(lab)["status"] == "completed"
    assert "received" in the_alert(lab)

    chain = lab.fhir(f"/Communication/{alert['id']}/$chain", who="his-tx-wsy")
    assert [(s["action"], s["organization"]) for s in chain["steps"]] == [
        ("raised", "tx-wsy"), ("acknowledged", "tx-wsy")
    ]  # fmt: skip
    assert chain["steps"][1]["by"] == "his-tx-wsy"
    assert chain["steps"][1]["text"] == "钾6.8，已复述"
    figures = lab.fhir("/Communication/$critical-figures", who="his-jhzx")
    assert (figures["raised"], figures["acknowledged"], figures["onTime"]) == (1, 1, 1)
    assert figures["timeliness"] == 1.0

    # The same result sent again raises nothing new.
    assert lab.send(oru("CRIT-0002", [POTASSIUM, SODIUM]))["MSA"][1] == "AA"
    assert lab.fhir("/Communication/$critical-figures", who="his-jhzx")["raised"] == 1


def test_an_unacknowledged_alert_escalates_to_the_head_then_the_lab(lab: Lab):
    # Three seconds: long enough that the first worker run comes before it on a loaded machine.
    lab.platform.settings.critical_ack_minutes = 3 / 60
    clinic_orders(lab)
    assert lab.send(oru("CRIT-0003", [POTASSIUM]))["MSA"][1] == "AA"
    alert = the_alert(lab)
    run_worker(lab)
    assert lab.fhir(f"/Communication/{alert['id']}/$chain", who="his-tx-wsy")["level"] == 0
    for _ in range(2):  # each level has its own deadline
        time.sleep(3.5)
        run_worker(lab)
    chain = lab.fhir(f"/Communication/{alert['id']}/$chain", who="his-jhzx")
    assert [(s["action"], s["organization"]) for s in chain["steps"]] == [
        ("raised", "tx-wsy"), ("escalated", "tx-wsy"), ("escalated", "jhzx")
    ]  # fmt: skip
    assert chain["state"] == "open"
    assert (chain["steps"][1]["by"], chain["steps"][1]["text"]) == (
        "wangjianguo",
        "超时未确认，升级至负责人：王建国",
    )
    escalated = the_alert(lab)
    assert escalated["recipient"] == [
        {"reference": "Organization/tx-wsy"},
        {"type": "Practitioner", "identifier": {"system": "urn:yilian:user",
                                                "value": "wangjianguo"}, "display": "王建国"},
        {"reference": "Organization/jhzx"},
    ]  # fmt: skip
    assert [n["text"] for n in escalated["note"]] == [
        "超时未确认，已升级至负责人：王建国",
        "超时未确认，已升级至出具中心",
    ]
    figures = lab.fhir("/Communication/$critical-figures", who="his-jhzx")
    assert (figures["raised"], figures["escalated"], figures["open"]) == (1, 1, 1)
    # Escalated back to it, the lab centre may now confirm the call itself.
    done = post(lab, f"/Communication/{alert['id']}/$acknowledge", read_back("已电话通知"),
                "his-jhzx")  # fmt: skip
    assert done.status_code == 200
    figures = lab.fhir("/Communication/$critical-figures", who="his-jhzx")
    assert (figures["acknowledged"], figures["onTime"], figures["open"]) == (1, 0, 0)


def test_the_labs_critical_limits_raise_alerts_the_flags_missed(lab: Lab):
    """The LIS flagged 6.5 mmol/L potassium only H; the lab's list says above 6.2 is critical."""
    high = ("NM", "K", "钾", "6.5", "mmol/L", "3.5-5.3", "H", "F")
    assert lab.send(oru("LIM-0001", [high, SODIUM]))["MSA"][1] == "AA"
    alert = the_alert(lab, who="his-jhzx")
    assert alert["payload"][0]["contentString"] == "危急值：钾 6.5 mmol/L（偏高，参考 3.5-5.3）"
    merely_high = ("NM", "K", "钾", "5.8", "mmol/L", "3.5-5.3", "H", "F")
    other_unit = ("NM", "NA", "钠", "170", "mEq/L", "137-147", "H", "F")
    assert lab.send(oru("LIM-0002", [merely_high, other_unit], filler="L-2"))["MSA"][1] == "AA"
    assert lab.fhir("/Communication/$critical-figures", who="his-jhzx")["raised"] == 1


def test_the_clinics_head_confirms_an_escalated_alert_with_their_own_login(lab: Lab):
    # Two seconds: the worker run that escalates must end before the next level's deadline.
    lab.platform.settings.critical_ack_minutes = 2 / 60
    lab.gateway.token("wangjianguo")  # logged in already: confirming must beat that deadline
    clinic_orders(lab)
    assert lab.send(oru("CRIT-0004", [POTASSIUM]))["MSA"][1] == "AA"
    alert = the_alert(lab)
    run_worker(lab)
    time.sleep(2.2)
    run_worker(lab)  # escalated to the head, 王建国
    confirmed = read_back("钾6.8，已通知主管医师")
    done = post(lab, f"/Communication/{alert['id']}/$acknowledge", confirmed, "wangjianguo")
    assert done.status_code == 200, done.text
    chain = lab.fhir(f"/Communication/{alert['id']}/$chain", who="his-tx-wsy")
    assert [(s["action"], s["by"]) for s in chain["steps"]] == [
        ("raised", None), ("escalated", "wangjianguo"), ("acknowledged", "wangjianguo")
    ]  # fmt: skip
    # Nobody registered as head of another clinic: the chain says so.
    with transaction(lab.platform.sessions) as session:
        assert escalated_to(1, heads_of(session, "fc-wsy")) == "负责人（未登记）"


def inbox(lab: Lab, who: str, state: str = "open") -> list[dict]:
    return list(lab.fhir(f"/Communication/$critical-inbox?state={state}", who=who)["alerts"])


def test_the_clinics_inbox_reads_the_value_out_and_refuses_a_wrong_read_back(lab: Lab):
    patient, _ = clinic_orders(lab)
    assert lab.send(oru("INBOX-0001", [POTASSIUM, SODIUM]))["MSA"][1] == "AA"
    [alert] = inbox(lab, "his-tx-wsy")
    assert (alert["kind"], alert["state"], alert["level"]) == ("lab", "open", 0)
    assert alert["summary"] == "钾 6.8 mmol/L（危急高值，参考 3.5-5.3）"
    assert alert["source"] == {"id": "jhzx", "name": "金华市中心医院"}
    assert alert["patient"]["id"] == patient
    assert alert["patient"]["name"] == [{"text": "张三丰"}]
    assert alert["result"]["valueQuantity"]["value"] == 6.8
    assert alert["result"]["interpretation"][0]["coding"][0]["code"] == "HH"
    assert inbox(lab, "his-cd-sq") == []  # another clinic's alert is not its to see
    with transaction(lab.platform.sessions) as session:  # who looked at what is recorded
        seen = [r.entities for r in session.scalars(select(AuditRecord)) if r.actor == "his-tx-wsy"
                and r.entities.get("face") == "critical-inbox"]  # fmt: skip
    assert seen[0]["ids"] == [alert["id"]]
    assert f"Patient/{patient}" in seen[0]["included"]
    assert lab.fhir("/Communication/$critical-inbox?state=closed")["issue"][0]["diagnostics"]

    url = f"/Communication/{alert['id']}/$acknowledge"
    for wrong, missing in (("钾 8.6", "数值"), ("6.8 mmol/L", "项目"), ("钾 68", "数值")):
        refused = post(lab, url, read_back(wrong), "his-tx-wsy")
        assert refused.status_code == 422, refused.text
        assert missing in refused.json()["issue"][0]["diagnostics"]
    assert inbox(lab, "his-tx-wsy")[0]["state"] == "open"  # a refusal changes nothing
    done = post(lab, url, read_back("钾 6.80 mmol/L 危急高值"), "his-tx-wsy")
    assert done.status_code == 200, done.text
    assert inbox(lab, "his-tx-wsy") == []
    [confirmed] = inbox(lab, "his-tx-wsy", "acknowledged")
    assert confirmed["readBack"] == "钾 6.80 mmol/L 危急高值"
    assert confirmed["acknowledgedBy"] == {"username": "his-tx-wsy", "name": "his-tx-wsy"}
