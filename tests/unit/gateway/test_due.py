"""When a reading is due: the defaults of practice and a centre's own rules; working days by
an alliance's calendar."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gateway.workflow.due import DEFAULT_RULES, Allowance, first_match
from gateway.workflow.form_text import BEIJING
from gateway.workflow.working_days import WorkingDays
from storage.exam_codes import order_modality
from storage.registry.centre_rules import DueRule, WorkingCalendar

IMAGING = DEFAULT_RULES["imaging"]
PATHOLOGY = DEFAULT_RULES["pathology"]
# The 2026 National Day week: 1–7 October off, Saturday 10 October worked (调休).
OCTOBER = WorkingCalendar(
    holidays=["2026-10-01", "2026-10-02", "2026-10-05", "2026-10-06", "2026-10-07"],
    workdays=["2026-10-10"],
)


def minutes(rules, priority, modality, setting, exams=frozenset()):
    facts = {"priority": priority, "modalities": modality, "setting": setting}
    return first_match(rules, facts, set(exams)).minutes


@pytest.mark.parametrize(
    ("priority", "modality", "setting", "minutes_due"),
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
def test_the_defaults_of_practice(priority, modality, setting, minutes_due):
    assert minutes(IMAGING, priority, modality, setting) == minutes_due


def test_a_centres_rules_from_the_alliance_file_come_first_match_wins():
    rules = [DueRule(priority=["stat"], minutes=45).model_dump(), DueRule(minutes=180).model_dump()]
    assert minutes(rules, "stat", "CT", "outpatient") == 45
    assert minutes(rules, "routine", "DX", "inpatient") == 180


def test_a_rule_is_checked_like_the_rest_of_the_alliance_file():
    with pytest.raises(ValueError, match="minutes"):
        DueRule(minutes=0)
    with pytest.raises(ValueError, match="priority"):
        DueRule(priority=["soon"], minutes=30)
    with pytest.raises(ValueError, match="one of them"):
        DueRule(minutes=30, working_days=3)
    with pytest.raises(ValueError, match="one of them"):
        DueRule(exams=["biopsy"])
    with pytest.raises(ValueError, match="both a holiday and a workday"):
        WorkingCalendar(holidays=["2026-10-10"], workdays=["2026-10-10"])


def test_pathology_frozen_sections_in_minutes_histology_in_working_days():
    facts = {"priority": "routine", "modalities": None, "setting": "outpatient"}
    assert first_match(PATHOLOGY, facts, {"frozen"}) == Allowance(minutes=30)
    assert first_match(PATHOLOGY, facts | {"priority": "stat"}, set()) == Allowance(minutes=30)
    assert first_match(PATHOLOGY, facts, {"biopsy"}) == Allowance(working_days=3)
    assert first_match(PATHOLOGY, facts, {"resection"}) == Allowance(working_days=5)
    assert first_match(PATHOLOGY, facts, {"BL-HJ"}) == Allowance(working_days=5)  # a local code
    local = [DueRule(exams=["BL-HJ"], working_days=3).model_dump(exclude_none=True)]
    assert first_match(local, facts, {"BL-HJ"}) == Allowance(working_days=3)


def test_working_days_skip_weekends_and_holidays_and_count_the_weekend_worked():
    plain, october = WorkingDays(), WorkingDays.of(OCTOBER.stored())
    friday = datetime(2026, 12, 4, 15, 0, tzinfo=BEIJING)
    # Accepted on a Friday afternoon, 3 working days: Monday, Tuesday, Wednesday; due at the
    # end of Wednesday.
    assert plain.end_of(friday, 3) == datetime(2026, 12, 10, 0, 0, tzinfo=BEIJING)
    # Accepted on 30 September: 1, 2 and 5–7 October are off, Saturday 10 October is worked.
    september = datetime(2026, 9, 30, 10, 0, tzinfo=BEIJING)
    assert october.end_of(september, 1) == datetime(2026, 10, 9, 0, 0, tzinfo=BEIJING)
    # 8 and 9 October, then the Saturday worked: due at the end of Saturday 10 October.
    assert october.end_of(september, 3) == datetime(2026, 10, 11, 0, 0, tzinfo=BEIJING)
    assert plain.end_of(september, 3) == datetime(2026, 10, 6, 0, 0, tzinfo=BEIJING)
    # Days are Beijing days: 23:30 UTC on Thursday is Friday morning in Beijing, so one
    # working day later is Monday.
    late = datetime(2026, 12, 3, 23, 30, tzinfo=UTC)
    assert plain.end_of(late, 1) == datetime(2026, 12, 8, 0, 0, tzinfo=BEIJING)


def test_the_modality_is_the_orders_dicom_code():
    dcm = "http://dicom.nema.org/resources/ontology/DCM"
    assert order_modality({"code": {"coding": [{"system": dcm, "code": "MR"}]}}) == "MR"
    assert order_modality({"code": {"coding": [{"system": "urn:his", "code": "MR"}]}}) is None
