"""Commissioned lab results coming back from the lead hospital's LIS (ORU^R01 over MLLP, real
socket, messages built with hl7apy): what the clinic that ordered sees, corrections, re-sends,
Chinese encodings and the answers to bad input."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.core import Message

from storage.clinical.recognition_marks import MARK_EXTENSION, MARK_TAG
from storage.platform import plugins
from storage.worker import process_batch
from tests.integration.fhir.test_subscriptions import subscribe
from tests.integration.lab.conftest import ID_NUMBER, NAME, NOTE, POTASSIUM, SODIUM, Lab, oru

APPLICATION_NUMBER = "urn:oid:2.16.156.10011.1.24"


def clinic_orders(lab: Lab, number: str = "SQ20261201001") -> tuple[str, str]:
    """汤溪卫生院 registers the patient and orders a basic metabolic panel from the lab centre;
    the ids of its Patient and ServiceRequest."""
    token = lab.gateway.token("his-tx-wsy")

    def post(resource: dict) -> str:
        answer = httpx.post(
            f"{lab.gateway.url}/fhir/{resource['resourceType']}",
            json=resource,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"},
        )
        assert answer.status_code == 201, answer.text
        return answer.json()["id"]

    patient = post({
        "resourceType": "Patient",
        "identifier": [{"system": "urn:yilian:patient-id:tx-wsy", "value": "TX000123"}],
        "name": [{"text": NAME}], "gender": "male", "birthDate": "1980-01-01",
    })  # fmt: skip
    order = post({
        "resourceType": "ServiceRequest", "status": "active", "intent": "order",
        "identifier": [{"system": APPLICATION_NUMBER, "value": number}],
        "code": {"text": "基础代谢组合"}, "subject": {"reference": f"Patient/{patient}"},
        "performer": [{"reference": "Organization/jhzx"}],
    })  # fmt: skip
    return patient, order


def test_the_ordering_clinic_sees_its_results(lab: Lab):
    patient, order = clinic_orders(lab)
    ack = lab.send(oru("R-0001", [POTASSIUM, SODIUM, NOTE]))
    assert ack["MSA"][1:3] == ["AA", "R-0001"]
    assert "ERR" not in ack

    reports = lab.fhir(f"/DiagnosticReport?based-on=ServiceRequest/{order}", who="his-tx-wsy")
    assert reports["total"] == 1
    report = reports["entry"][0]["resource"]
    assert report["status"] == "final"
    assert report["subject"] == {"reference": f"Patient/{patient}"}  # the clinic's patient
    assert report["performer"] == [{"reference": "Organization/jhzx"}]
    assert report["effectiveDateTime"] == "2026-12-01T07:30:00+08:00"
    assert report["issued"] == "2026-12-01T09:00:00+08:00"
    assert len(report["result"]) == 3

    found = lab.fhir(f"/Observation?based-on=ServiceRequest/{order}", who="his-tx-wsy")
    results = {e["resource"]["code"]["coding"][0]["code"]: e["resource"] for e in found["entry"]}
    potassium = results["K"]
    assert potassium["code"]["coding"] == [
        {"system": "urn:yilian:lab-code:jhzx", "code": "K", "display": "钾"},
        {"system": "http://loinc.org", "code": "2823-3",  # the lab's catalogue maps it
         "display": "Potassium [Moles/volume] in Serum or Plasma"},
    ]  # fmt: skip
    assert potassium["valueQuantity"] == {
        "value": 6.8, "unit": "mmol/L", "system": "http://unitsofmeasure.org", "code": "mmol/L"
    }  # fmt: skip
    assert potassium["referenceRange"][0]["low"]["value"] == 3.5
    assert potassium["referenceRange"][0]["high"]["value"] == 5.3
    assert potassium["interpretation"][0]["coding"][0]["code"] == "HH"
    assert potassium["interpretation"][0]["text"] == "危急高值"
    assert potassium["effectiveDateTime"] == "2026-12-01T08:50:00+08:00"
    assert results["NOTE"]["valueString"] == "轻度溶血"
    # The recognisable items carry their mark; the report does not, as the note is no item.
    marks = {code: r.get("extension", [{}])[0].get("valueString") for code, r in results.items()}
    assert marks == {"K": "浙HR", "NA": "浙HR", "NOTE": None}
    assert "extension" not in report

    specimens = lab.fhir("/Specimen?identifier=urn:yilian:specimen-id:jhzx|B20261201001")
    specimen = specimens["entry"][0]["resource"]
    assert specimen["request"] == [{"reference": f"ServiceRequest/{order}"}]
    assert specimen["collection"]["collectedDateTime"] == "2026-12-01T07:30:00+08:00"
    assert specimen["receivedTime"] == "2026-12-01T07:50:00+08:00"
    assert potassium["specimen"] == {"reference": f"Specimen/{specimen['id']}"}

    # The patient was matched, not copied; another clinic sees none of it.
    assert lab.fhir(f"/Patient?identifier=urn:oid:2.16.156.10011.1.3|{ID_NUMBER}")["total"] == 0
    assert lab.fhir("/DiagnosticReport", who="his-cd-sq").get("total", 0) == 0
    [message] = lab.messages()
    assert message.state == "processed"
    assert message.unmapped_codes == ["NOTE"]  # not in the lab's catalogue


def test_a_correction_updates_the_same_result_and_keeps_history(lab: Lab):
    assert lab.send(oru("R-0002", [POTASSIUM]))["MSA"][1] == "AA"
    corrected = ("NM", "K", "钾", "4.2", "mmol/L", "3.5-5.3", "N", "C")
    assert lab.send(oru("R-0003", [corrected], status="C"))["MSA"][1] == "AA"
    [entry] = lab.fhir("/Observation?code=urn:yilian:lab-code:jhzx|K")["entry"]
    observation = entry["resource"]
    assert observation["status"] == "corrected"
    assert observation["valueQuantity"]["value"] == 4.2
    assert observation["meta"]["versionId"] == "2"
    history = lab.fhir(f"/Observation/{observation['id']}/_history")
    values = [e["resource"]["valueQuantity"]["value"] for e in history["entry"]]
    assert values == [4.2, 6.8]
    report = lab.fhir("/DiagnosticReport")["entry"][0]["resource"]
    assert report["status"] == "corrected"


def test_a_correction_of_one_result_keeps_the_reports_other_results(lab: Lab):
    """A LIS may send only the corrected OBX: the report keeps what it reported before."""
    assert lab.send(oru("R-0010", [POTASSIUM, SODIUM]))["MSA"][1] == "AA"
    corrected = ("NM", "K", "钾", "4.2", "mmol/L", "3.5-5.3", "N", "C")
    assert lab.send(oru("R-0011", [corrected], status="C"))["MSA"][1] == "AA"
    [entry] = lab.fhir("/DiagnosticReport")["entry"]
    report = entry["resource"]
    assert report["status"] == "corrected"
    results = [lab.fhir(f"/{r['reference']}") for r in report["result"]]
    assert {(o["code"]["text"], o["status"]) for o in results} == {
        ("钾", "corrected"),
        ("钠", "final"),
    }


def test_final_results_of_a_qualified_lab_carry_the_recognition_mark(lab: Lab):
    """The lab centre passed the province's EQA for electrolytes in 2026: its final potassium
    (LOINC 2823-3, an item of the alliance's catalogue) carries 浙HR, and so does the report
    when every result on it does; a preliminary potassium does not, nor one taken in 2025, nor
    one from 汤溪卫生院, which holds no such pass."""
    assert lab.send(oru("HR-1", [POTASSIUM], filler="L-HR-1"))["MSA"][1] == "AA"
    preliminary = ("NM", "K", "钾", "4.1", "mmol/L", "3.5-5.3", "N", "P")
    assert lab.send(oru("HR-2", [preliminary], filler="L-HR-2", status="P"))["MSA"][1] == "AA"
    earlier = oru("HR-3", [POTASSIUM], filler="L-HR-3").to_er7().replace("|2026120", "|2025120")
    assert lab.send(earlier)["MSA"][1] == "AA"
    clinic = oru("HR-4", [("NM", "2823-3", "钾", "4.4", "mmol/L", "3.5-5.3", "N", "F")],
                 sender=("HIS", "TX_WSY"), filler="TX-HR-4")  # fmt: skip
    assert lab.send(clinic.to_er7().replace("2823-3^钾^L|", "2823-3^钾^LN|"))["MSA"][1] == "AA"

    def marks(path: str, who: str = "his-jhzx") -> dict[str, tuple]:
        found = [e["resource"] for e in lab.fhir(path, who).get("entry", [])]
        return {r["identifier"][0]["value"]: (r.get("extension"), r["meta"].get("tag"))
                for r in found}  # fmt: skip

    def marked(name: str) -> tuple:
        return ([{"url": MARK_EXTENSION, "valueString": "浙HR"}],
                [{"system": MARK_TAG, "code": "浙HR", "display": f"{name}（浙HR）"}])  # fmt: skip

    assert marks("/Observation?code=urn:yilian:lab-code:jhzx|K") == {
        "L-HR-1/K/1": marked("血清钾"), "L-HR-2/K/1": (None, None), "L-HR-3/K/1": (None, None)
    }  # fmt: skip
    assert marks("/DiagnosticReport?identifier=urn:yilian:lab-report:jhzx|L-HR-1") == {
        "L-HR-1": marked("基础代谢组合")
    }
    assert marks("/Observation?code=http://loinc.org|2823-3", "his-tx-wsy") == {
        "TX-HR-4/2823-3/1": (None, None)
    }
    assert lab.fhir(f"/Observation?_tag={MARK_TAG}|浙HR&_summary=count")["total"] == 1


def test_a_resent_message_is_acknowledged_but_not_applied_twice(lab: Lab):
    message = oru("R-0004", [POTASSIUM, SODIUM])
    assert lab.send(message)["MSA"][1] == "AA"
    again = lab.send(message)
    assert again["MSA"][1:4] == ["AA", "R-0004", "duplicate: already applied"]
    assert [m.state for m in lab.messages()] == ["processed", "duplicate"]
    found = lab.fhir("/Observation")
    assert found["total"] == 2
    assert {e["resource"]["meta"]["versionId"] for e in found["entry"]} == {"1"}


def test_a_message_sent_on_several_connections_at_once_is_applied_once(lab: Lab):
    """A LIS that times out and sends again on new connections: the copies may meet in one
    commit group; one is applied, the others are duplicates."""
    message = oru("R-0005", [POTASSIUM, SODIUM])
    with ThreadPoolExecutor(4) as pool:
        acks = list(pool.map(lambda _: lab.send(message), range(4)))
    assert sorted(ack["MSA"][1] for ack in acks) == ["AA"] * 4
    assert sorted(m.state for m in lab.messages()) == ["duplicate"] * 3 + ["processed"]
    found = lab.fhir("/Observation")
    assert found["total"] == 2
    assert {e["resource"]["meta"]["versionId"] for e in found["entry"]} == {"1"}


def test_gb18030_analyser_and_an_hl7_231_lis(lab: Lab):
    ack = lab.send(oru("GB-0001", [POTASSIUM], sender=("MINDRAY_BC", "JHZX")), "gb18030")
    assert ack["MSA"][1] == "AA"
    old = oru("V231-0001", [SODIUM], version="2.3.1", filler="L-231")
    ack = lab.send(old)
    assert ack["MSA"][1] == "AA"
    names = {
        e["resource"]["code"]["coding"][0]["display"] for e in lab.fhir("/Observation")["entry"]
    }
    assert names == {"钾", "钠"}


def test_real_world_deviations_are_tolerated(lab: Lab):
    """LF between segments, a Z-segment, no trailing separators: still applied."""
    text = oru("DEV-0001", [POTASSIUM]).to_er7().replace("\r", "\n") + "\nZLS|1|仪器A|\n"
    assert lab.send(text)["MSA"][1] == "AA"
    assert lab.fhir("/Observation")["total"] == 1


def test_content_errors_are_named_in_err_and_nothing_is_written(lab: Lab):
    not_a_number = ("NM", "HBSAG", "乙肝表面抗原", "阴性", "", "", "", "F")
    ack = lab.send(oru("BAD-0001", [SODIUM, not_a_number]))
    assert ack["MSA"][1:3] == ["AE", "BAD-0001"]
    err = ack["ERR"]
    assert err[2] == "OBX^2^5"
    assert err[3].startswith("102^Data type error^HL70357")
    assert err[4] == "E"
    assert "阴性" in err[8]
    no_status = ("NM", "K", "钾", "4.0", "mmol/L", "", "", "")
    ack = lab.send(oru("BAD-0002", [no_status]))
    assert (ack["MSA"][1], ack["ERR"][2], ack["ERR"][3][:3]) == ("AE", "OBX^1^11", "101")
    assert lab.fhir("/Observation").get("total") == 0
    assert lab.fhir("/DiagnosticReport").get("total") == 0
    messages = lab.messages()
    assert [m.state for m in messages] == ["failed", "failed"]
    assert messages[0].error.startswith("OBX[2]-5: 102:")


def test_what_is_not_taken_is_rejected_with_its_reason(lab: Lab):
    future = oru("V29-0001", [POTASSIUM])
    future.msh.msh_12 = "2.9"
    ack = lab.send(future)
    assert (ack["MSA"][1], ack["ERR"][3][:3]) == ("AR", "203")
    booking = Message("SIU_S12", version="2.5", validation_level=VALIDATION_LEVEL.TOLERANT)
    booking.msh.msh_3, booking.msh.msh_4 = "LIS", "JHZX"
    booking.msh.msh_9 = "SIU^S12^SIU_S12"
    booking.msh.msh_10 = "SIU-0001"
    ack = lab.send(booking)
    assert (ack["MSA"][1], ack["ERR"][3][:3]) == ("AR", "200")
    no_obr = Message("ORU_R01", version="2.5", validation_level=VALIDATION_LEVEL.TOLERANT)
    no_obr.msh.msh_3, no_obr.msh.msh_4 = "LIS", "JHZX"
    no_obr.msh.msh_9 = "ORU^R01^ORU_R01"
    no_obr.msh.msh_10 = "NOOBR-1"
    no_obr.add_segment("PID")
    no_obr.pid.pid_3 = "TX1^^^tx-wsy^PI"
    assert lab.send(no_obr)["MSA"][1] == "AE"
    assert [m.state for m in lab.messages()] == ["rejected", "rejected", "failed"]
    assert lab.send(b"MSH|garbage")["MSA"][1] == "AR"
    assert len(lab.messages()) == 3  # unreadable: answered, nothing stored


def test_every_applied_message_is_an_audit_event(lab: Lab):
    assert lab.send(oru("AUD-0001", [SODIUM]))["MSA"][1] == "AA"
    events = lab.fhir("/AuditEvent?agent=Organization/jhzx&action=C")["entry"]
    [event] = [e["resource"] for e in events if e["resource"]["source"]["site"] == "hl7"]
    assert event["subtype"][0]["code"] == "ORU^R01"
    assert event["agent"][0]["who"]["display"] == "jhzx-lis"
    kinds = sorted(e["what"]["reference"].split("/")[0] for e in event["entity"])
    assert kinds == ["DiagnosticReport", "Observation", "Patient", "Specimen"]


def test_the_clinic_is_pushed_its_report_through_its_subscription(lab: Lab, receiver):
    """汤溪卫生院 subscribed to its final reports; the LIS's result reaches its HIS endpoint."""
    _, order = clinic_orders(lab)
    subscribe(lab.gateway, "his-tx-wsy", f"http://127.0.0.1:{receiver.server_port}/his/notify")
    subscribe(lab.gateway, "his-cd-sq", f"http://127.0.0.1:{receiver.server_port}/other")
    assert lab.send(oru("PUSH-0001", [POTASSIUM, SODIUM]))["MSA"][1] == "AA"
    handlers = plugins("yilian.outbox_handlers")
    while process_batch(lab.platform, handlers, limit=50):
        pass
    [(path, _headers, body)] = receiver.received
    assert path == "/his/notify"  # not to the clinic that did not order it
    pushed = json.loads(body)
    assert pushed["resourceType"] == "DiagnosticReport"
    assert pushed["basedOn"] == [{"reference": f"ServiceRequest/{order}"}]


def test_messages_on_many_connections_at_once_are_each_applied_once(lab: Lab):
    """Eight LIS connections at once (committed together): every message answered for itself,
    a broken one refused without costing the others, a resend on another connection applied
    once."""
    not_a_number = ("NM", "HBSAG", "乙肝表面抗原", "阴性", "", "", "", "F")
    shares = [
        [oru(f"C{c}-{n}", [SODIUM], filler=f"L-C{c}-{n}", specimen=None) for n in range(4)]
        for c in range(8)
    ]
    shares[0].append(oru("C0-BAD", [not_a_number], filler="L-C0-BAD"))
    shares[1].append(shares[2][0])  # the same message on two connections
    answers: list[tuple[str, str]] = []
    lock = threading.Lock()

    def send(share: list) -> None:
        for message in share:
            ack = lab.send(message)
            with lock:
                answers.append((ack["MSA"][2], ack["MSA"][1]))

    threads = [threading.Thread(target=send, args=(share,)) for share in shares]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert len(answers) == 34
    assert {control: code for control, code in answers if code != "AA"} == {"C0-BAD": "AE"}
    assert lab.fhir("/DiagnosticReport?_summary=count")["total"] == 32
    states = sorted(m.state for m in lab.messages())
    assert states == ["duplicate"] + ["failed"] + ["processed"] * 32
