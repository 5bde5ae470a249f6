"""When a reading is due: the defaults of practice and a centre's own rules."""

from __future__ import annotations

import pytest

from gateway.workflow.due import DEFAULT_RULES, first_match
from storage.exam_codes import order_modality
from storage.registry.centre_rules import DueRule

IMAGING = DEFAULT_RULES["imaging"]


@pytest.mark.parametrize(
    ("priority", "modality", "setting", "minutes"),
    [
        ("stat", "DX", "outpatient", 30),  # emergency X-ray
        ("stat", "CT", "outpatient", 60),  # emergency CT
        ("routine", "CT", "emergency", 60),  # from the emergency department
        ("routine", "DX", "outpatient", 120),  # routine X-ray
        ("routine", "CT", "outpatient", 240),  # outpatient CT/MR
        ("routine", "MR", "inpatient", 360),  # inpatient
        ("routine", None, "outpatient", 240),  # an order that names no modality
    ],
)
def test_the_defaults_of_practice(priority, modality, setting, minutes):
    assert first_match(IMAGING, priority, modality, setting) == minutes


def test_a_centres_rules_from_the_alliance_file_come_first_match_wins():
    rules = [DueRule(priority=["stat"], minutes=45).model_dump(), DueRule(minutes=180).model_dump()]
    assert first_match(rules, "stat", "CT", "outpatient") == 45
    assert first_match(rules, "routine", "DX", "inpatient") == 180


def test_a_rule_is_checked_like_the_rest_of_the_alliance_file():
    with pytest.raises(ValueError, match="minutes"):
        DueRule(minutes=0)
    with pytest.raises(ValueError, match="priority"):
        DueRule(priority=["soon"], minutes=30)


def test_the_modality_is_the_orders_dicom_code():
    dcm = "http://dicom.nema.org/resources/ontology/DCM"
    assert order_modality({"code": {"coding": [{"system": dcm, "code": "MR"}]}}) == "MR"
    assert order_modality({"code": {"coding": [{"system": "urn:his", "code": "MR"}]}}) is None
