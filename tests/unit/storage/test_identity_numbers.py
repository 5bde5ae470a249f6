"""身份证号 (GB 11643) and 居民健康卡号 as the patient index compares them."""

from __future__ import annotations

import datetime

import pytest

from storage.identity_numbers import (
    health_card,
    id_card_18,
    id_card_birth_date,
    id_card_sex,
)


def test_a_valid_number_is_kept_whole_with_its_x_check_character():
    assert id_card_18("11010519491231002X") == "11010519491231002X"
    assert id_card_18("11010519491231002x") == "11010519491231002X"
    assert id_card_18(" 330702 19800102 1238 ") == "330702198001021238"


@pytest.mark.parametrize(
    "number",
    [
        "330702198001021232",  # wrong check character
        "330702198013021231",  # month 13
        "33070219800102123",  # 17 characters
        "3307021980010212X8",  # X inside
        "",
    ],
)
def test_a_number_that_is_not_a_valid_id_card_is_refused(number):
    assert id_card_18(number) is None


def test_a_15_digit_first_generation_number_is_upgraded_with_19_and_a_check_character():
    assert id_card_18("110105491231002") == "11010519491231002X"
    assert id_card_18("330702800102123") == "330702198001021238"
    assert id_card_18("330702801302123") is None  # no such date


def test_birth_date_and_sex_are_read_from_the_number():
    assert id_card_birth_date("330702800102123") == datetime.date(1980, 1, 2)
    assert id_card_sex("330702198001021238") == "male"  # 17th digit 3: odd
    assert id_card_sex("330702196503150022") == "female"
    assert id_card_sex("330702198001021232") is None


def test_a_health_card_number_is_compared_without_spaces_and_case():
    assert health_card(" h3307 0012ab ") == "H33070012AB"
    assert health_card("  ") is None
