"""Lab results for the pages, made in the running ``yilian serve --demo`` the way they arrive:
汤溪卫生院's HIS orders a basic metabolic panel (FHIR, client credentials, category lab), the
lead hospital's LIS answers with ORU^R01 messages built by hl7apy over a real MLLP socket — a
critical potassium, a high glucose, a low calcium, a normal sodium — then corrects the sodium."""

from __future__ import annotations

from dataclasses import dataclass

from hl7.client import MLLPClient

from tests.integration.browser.reading_setup import fhir, his_token
from tests.integration.lab.conftest import ID_NUMBER, NAME, POTASSIUM, SODIUM, oru
from tests.integration.test_serve import Running

APPLICATION_NUMBER = "urn:oid:2.16.156.10011.1.24"  # 电子申请单号, as OBR-2 names the order
LAB = "http://yilian.example/fhir/CodeSystem/exam-category"
ORDER_NUMBER = "SQ20261202001"
FILLER = "L20261202-0001"
GLUCOSE = ("NM", "GLU", "葡萄糖", "8.5", "mmol/L", "3.9-6.1", "H", "F")
CALCIUM = ("NM", "CA", "钙", "1.9", "mmol/L", "2.1-2.6", "L", "F")
SODIUM_CORRECTED = ("NM", "NA", "钠", "132", "mmol/L", "137-147", "L", "C")


@dataclass(frozen=True)
class LabOrder:
    order: str
    patient: str


def send(served: Running, control_id: str, results: list[tuple[str, ...]], status: str) -> str:
    """One ORU^R01 from the LIS (jhzx-lis: LIS^JHZX) over MLLP; the ACK's MSA-1."""
    message = oru(control_id, results, order_number=ORDER_NUMBER, filler=FILLER, status=status)
    with MLLPClient("127.0.0.1", served.mllp, encoding="utf-8") as client:
        answer = client.send_message(message.to_er7().encode("utf-8"))
    segments = answer.strip(b"\x0b\x1c\r").decode("utf-8").split("\r")
    return next(s.split("|")[1] for s in segments if s.startswith("MSA"))


def lab_results(served: Running, base: str) -> LabOrder:
    token = his_token(base)
    patient = fhir(base, token, "POST", "Patient", {
        "resourceType": "Patient",
        "identifier": [{"system": "urn:yilian:patient-id:tx-wsy", "value": "TX000123"},
                       {"system": "urn:oid:2.16.156.10011.1.3", "value": ID_NUMBER}],
        "name": [{"text": NAME}], "gender": "male", "birthDate": "1980-01-01",
    })["id"]  # fmt: skip
    order = fhir(base, token, "POST", "ServiceRequest", {
        "resourceType": "ServiceRequest", "status": "active", "intent": "order",
        "identifier": [{"system": APPLICATION_NUMBER, "value": ORDER_NUMBER}],
        "category": [{"coding": [{"system": LAB, "code": "lab"}]}],
        "code": {"text": "基础代谢组合"}, "subject": {"reference": f"Patient/{patient}"},
        "requester": {"reference": "Organization/tx-wsy"},
        "performer": [{"reference": "Organization/jhzx"}],
        "authoredOn": "2026-12-01T07:10:00+08:00",
    })["id"]  # fmt: skip
    assert send(served, "WEB-0001", [POTASSIUM, SODIUM, GLUCOSE, CALCIUM], "F") == "AA"
    # A correction resends the whole report, the corrected result with OBX-11 C.
    corrected = [POTASSIUM, SODIUM_CORRECTED, GLUCOSE, CALCIUM]
    assert send(served, "WEB-0002", corrected, "C") == "AA"
    return LabOrder(order, patient)
