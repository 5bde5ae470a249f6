"""HL7 data types read strictly: what a LIS sends wrong is a data type error at its field."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from lab_bridge.errors import ContentError
from lab_bridge.mapping.values import coding, date_time, quantity, reference_range

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("sent", "read"),
    [
        ("20261201085000", "2026-12-01T08:50:00+08:00"),
        ("20261201085000+1400", "2026-12-01T08:50:00+14:00"),
        ("20261201085000-1200", "2026-12-01T08:50:00-12:00"),
        ("20261201085000.25+0530", "2026-12-01T08:50:00.250+05:30"),
        ("19800101", "1980-01-01"),
        ("198001", "1980-01"),
        ("20240229", "2024-02-29"),
    ],
)
def test_hl7_times_as_fhir(sent: str, read: str):
    assert date_time(sent, SHANGHAI, "OBX[1]-14") == read


@pytest.mark.parametrize(
    "sent",
    [
        "20261201085000+9999", "20261201085000-1401", "20261201085000+0860", "19800101+2400",
        "19800231", "20250229", "00000101", "202613", "20261201250000", "２０２６１２０１",
        "2026-12-01", "99991231235959-1200", "00010101000000+1400",
    ],
)  # fmt: skip
def test_times_that_do_not_exist_are_data_type_errors_at_their_field(sent: str):
    with pytest.raises(ContentError) as raised:
        date_time(sent, SHANGHAI, "OBX[1]-14")
    assert (raised.value.where, raised.value.code) == ("OBX[1]-14", 102)


@pytest.mark.parametrize("sent", ["9" * 400, "٦.٨", "1e5", "NaN", "inf", "1.2.3", ""])
def test_what_is_not_a_number_is_a_data_type_error(sent: str):
    with pytest.raises(ContentError) as raised:
        quantity(sent, "mmol/L", "OBX[2]-5")
    assert (raised.value.where, raised.value.code) == ("OBX[2]-5", 102)


def test_reference_ranges_beyond_any_number_stay_text():
    huge = "9" * 400 + "-1"
    assert reference_range(huge, "mmol/L") == {"text": huge}
    assert reference_range("3.5-5.3", "")["low"] == {"value": 3.5}


def test_codes_are_trimmed_and_must_be_fhir_codes():
    assert coding([" K ", "钾", "L"], "urn:lab", "OBX[1]-3")["code"] == "K"
    assert coding(["WBC COUNT"], "urn:lab", "OBX[1]-3")["code"] == "WBC COUNT"
    for bad in ("K  X", "K\tX"):
        with pytest.raises(ContentError) as raised:
            coding([bad], "urn:lab", "OBX[1]-3")
        assert (raised.value.where, raised.value.code) == ("OBX[1]-3", 102)
