"""A commissioned lab report (委托检验) is charged per item at the catalogue's fee: 汤溪卫生院's
panel reported by the lead hospital's LIS (ORU^R01 over MLLP) — potassium and sodium are
electrolyte items (jy-dj, 4.00 each), the free-text note is no catalogued item — once; the
LIS's correction of the report charges nothing more; the month's statement shows it."""

from __future__ import annotations

from tests.integration.lab.conftest import NOTE, POTASSIUM, SODIUM, Lab, oru
from tests.integration.lab.test_results import clinic_orders
from tests.servers import drain_outbox

SODIUM_CORRECTED = ("NM", "NA", "钠", "132", "mmol/L", "137-147", "L", "C")


def test_a_commissioned_lab_report_is_charged_per_item_once(lab: Lab):
    patient, order = clinic_orders(lab)
    assert lab.send(oru("C-0001", [POTASSIUM, SODIUM, NOTE]))["MSA"][1] == "AA"
    drain_outbox(lab.platform)
    found = lab.fhir(f"/ChargeItem?subject=Patient/{patient}", who="his-tx-wsy")
    [charge] = [e["resource"] for e in found.get("entry", [])]
    assert charge["code"]["coding"][0]["code"] == "jy-dj"
    assert charge["quantity"] == {"value": 2}
    assert charge["priceOverride"] == {"value": 4.0, "currency": "CNY"}
    assert charge["occurrenceDateTime"] == "2026-12-01T01:00:00.000Z"  # OBR-22, 09:00 Beijing
    assert charge["supportingInformation"] == [{"reference": f"ServiceRequest/{order}"}]
    assert charge["performingOrganization"] == {"reference": "Organization/jhzx"}

    corrected = oru("C-0002", [POTASSIUM, SODIUM_CORRECTED, NOTE], status="C")
    assert lab.send(corrected)["MSA"][1] == "AA"
    drain_outbox(lab.platform)
    again = lab.fhir(f"/ChargeItem?subject=Patient/{patient}", who="his-tx-wsy")
    assert [e["resource"]["id"] for e in again["entry"]] == [charge["id"]]

    statement = lab.fhir("/ChargeItem/$settlement?month=2026-12", who="his-tx-wsy")
    [pair] = statement["pairs"]
    assert [(x["code"], x["count"], x["unitFee"], x["amount"]) for x in pair["lines"]] == [
        ("jy-dj", 2, "4.00", "8.00")
    ]
