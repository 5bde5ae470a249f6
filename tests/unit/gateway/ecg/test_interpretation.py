"""An ECG report's measurements: the reader's figures first, the device's prefilled, the
rhythm from the coded conclusions; printed as the report's line; the coded list's critical
findings and SNOMED CT codes."""

from __future__ import annotations

from gateway.ecg.conclusions import BY_CODE, SYSTEM, code_system, coding, conclusions_of
from gateway.ecg.interpretation import described, measurements

LOINC = "http://loinc.org"


def _component(loinc: str, value: float) -> dict:
    return {"code": {"coding": [{"system": LOINC, "code": loinc}]},
            "valueQuantity": {"value": value}}  # fmt: skip


DEVICE = {"id": "rec-1", "component": [_component("8867-4", 72), _component("8625-6", 152),
                                       _component("8632-2", 30)]}  # fmt: skip


def test_the_readers_figures_win_the_devices_fill_the_rest_and_the_rhythm_is_coded():
    reader = {"component": [_component("8867-4", 75)]}
    made = measurements(reader, [DEVICE], [BY_CODE["st-elevation"], BY_CODE["sinus-rhythm"]],
                        "preliminary")  # fmt: skip
    values = {c["code"]["coding"][-1]["code"]: c.get("valueQuantity", {}).get("value")
              for c in made["component"]}  # fmt: skip
    assert values == {"8884-9": None, "8867-4": 75, "8625-6": 152, "8632-2": 30}
    assert made["component"][0]["valueCodeableConcept"]["text"] == "窦性心律"
    assert made["derivedFrom"] == [{"reference": "Observation/rec-1"}]
    assert described(made) == "心律：窦性心律　心率：75次/分　PR间期：152 ms　电轴：30°"


def test_without_a_recording_or_a_rhythm_nothing_is_made_up():
    made = measurements(None, [], [BY_CODE["st-depression"]], "final")
    assert made["component"] == []
    assert "derivedFrom" not in made
    assert described(made) == ""


def test_the_coded_list_says_which_findings_are_critical():
    critical = {c.display for c in BY_CODE.values() if c.critical}
    assert {"ST段抬高", "室性心动过速", "心室颤动", "三度房室传导阻滞"} <= critical
    assert "窦性心律" not in critical
    assert coding(BY_CODE["atrial-fibrillation"])[1]["code"] == "164889003"
    named = conclusions_of([{"coding": [{"system": SYSTEM, "code": "stemi"}]},
                            {"coding": [{"system": SYSTEM, "code": "nonsense"}]},
                            {"text": "free text"}])  # fmt: skip
    assert named == [BY_CODE["stemi"], "nonsense"]
    published = code_system()
    assert published["count"] == len(published["concept"]) == len(BY_CODE)
