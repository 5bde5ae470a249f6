"""The read-back rule (复述): a lab value's read-back names the item and states the value; a
finding's repeats the finding."""

from __future__ import annotations

import pytest

from gateway.workflow.read_back import (
    NO_FINDING,
    NO_ITEM,
    NO_VALUE,
    Expected,
    ReadBackMismatch,
    check,
    expected_of_result,
)

POTASSIUM = {
    "code": {"text": "钾", "coding": [{"code": "K", "display": "钾"},
                                      {"code": "2823-3", "display": "Potassium"}]},
    "valueQuantity": {"value": 6.8, "unit": "mmol/L"},
}  # fmt: skip


@pytest.mark.parametrize(
    "heard", ["钾6.8", "钾 6.80 mmol/L，危急高值", "K 6.8", "potassium 6.8", "钾：６．８"]
)
def test_a_lab_read_back_with_the_item_and_value_matches(heard: str):
    check(expected_of_result(POTASSIUM), heard)


@pytest.mark.parametrize(
    ("heard", "reason"),
    [("钾 8.6", NO_VALUE), ("钾 68", NO_VALUE), ("钾", NO_VALUE), ("6.8 mmol/L", NO_ITEM),
     ("钠 6.8", NO_ITEM)],
)  # fmt: skip
def test_a_lab_read_back_missing_the_item_or_value_is_refused(heard: str, reason: str):
    with pytest.raises(ReadBackMismatch, match=reason.split(" ")[0]):
        check(expected_of_result(POTASSIUM), heard)


def test_a_text_result_is_read_back_as_its_text():
    positive = {"code": {"text": "血培养"}, "valueString": "阳性（革兰阴性杆菌）"}
    check(expected_of_result(positive), "血培养 阳性（革兰阴性杆菌）")
    with pytest.raises(ReadBackMismatch):
        check(expected_of_result(positive), "血培养 阴性")


def test_a_finding_is_repeated_whatever_is_added():
    finding = Expected(text="左侧大量气胸，肺组织压缩约80%")
    check(finding, "左侧大量气胸，肺压缩约80%，已收到")
    with pytest.raises(ReadBackMismatch, match=NO_VALUE.split(" ")[0]):
        check(finding, "左侧大量气胸，肺组织压缩约50%")
    with pytest.raises(ReadBackMismatch, match=NO_FINDING.split(" ")[0]):
        check(finding, "收到 80%")
