"""What a careless or broken LIS gets back for what it got wrong (ORU^R01 and ADT over a real
MLLP socket, built with hl7apy, then broken as such senders break them): AE with its own
control id and an ERR naming the field, the message archived as failed and nothing of it
written — and "send again later" (ERR-3 207) only for Yilian's own faults."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab_bridge import receive
from tests.conftest import new_postgres_database
from tests.integration.dicomweb.conftest import start_gateway
from tests.integration.lab.conftest import (
    NAME,
    NOTE,
    POTASSIUM,
    SODIUM,
    Lab,
    mllp_listener,
    oru,
)
from tests.integration.lab.test_patients import adt


def refused(ack: dict[str, list[str]]) -> tuple[str, str, str, str]:
    """MSA-1, MSA-2, ERR-2 (the location) and the table 0357 code of ERR-3."""
    return ack["MSA"][1], ack["MSA"][2], ack["ERR"][2], ack["ERR"][3].split("^")[0]


def nothing_written(lab: Lab) -> None:
    """No FHIR resource came of the refused messages, and each is kept as failed."""
    for kind in ("Patient", "Observation", "DiagnosticReport", "Specimen"):
        assert lab.fhir(f"/{kind}?_summary=count")["total"] == 0, kind
    assert {m.state for m in lab.messages()} == {"failed"}


def test_broken_encoding_characters_get_ae_with_the_control_id(lab: Lab):
    message = oru("ENC-0001", [POTASSIUM])
    message.msh.msh_2 = "^^^^"
    ack = lab.send(message)
    assert refused(ack) == ("AE", "ENC-0001", "MSH^1^2", "102")
    assert "encoding characters (MSH-2)" in ack["ERR"][8]
    nothing_written(lab)
    assert lab.messages()[0].error.startswith("MSH[1]-2: 102:")

    assert lab.send(oru("ENC-0001", [POTASSIUM]))["MSA"][1:3] == ["AA", "ENC-0001"]


def test_time_zone_out_of_range_is_a_data_type_error_at_its_field(lab: Lab):
    for control_id, observed in (("TZ-1", "20261201085000+9999"), ("TZ-2", "20261201085000-1500"),
                                 ("TZ-3", "20261201085000+0860")):  # fmt: skip
        message = oru(control_id, [SODIUM, POTASSIUM])
        message.obx[1].obx_14 = observed
        ack = lab.send(message)
        assert refused(ack) == ("AE", control_id, "OBX^2^14", "102"), observed
        assert observed[-5:] in ack["ERR"][8]
    nothing_written(lab)

    widest = oru("TZ-4", [POTASSIUM])  # Kiribati's +14:00 is a real zone
    widest.obx.obx_14 = "20261201085000+1400"
    assert lab.send(widest)["MSA"][1] == "AA"
    [entry] = lab.fhir("/Observation")["entry"]
    assert entry["resource"]["effectiveDateTime"] == "2026-12-01T08:50:00+14:00"


def test_impossible_dates_are_data_type_errors_and_never_stored(lab: Lab):
    born_on_31_february = oru("DATE-1", [SODIUM])
    born_on_31_february.pid.pid_7 = "19800231"
    assert refused(lab.send(born_on_31_february)) == ("AE", "DATE-1", "PID^1^7", "102")
    year_zero = adt("A04", "DATE-2", "JH0001", "李秀英")
    year_zero.pid.pid_7 = "00000101"
    assert refused(lab.send(year_zero)) == ("AE", "DATE-2", "PID^1^7", "102")
    month_13 = oru("DATE-3", [SODIUM])
    month_13.obr.obr_7 = "20261301073000"
    assert refused(lab.send(month_13)) == ("AE", "DATE-3", "OBR^1^7", "102")
    nothing_written(lab)


def test_control_characters_in_patient_name_are_refused_at_pid_5(lab: Lab):
    """A NUL or another C0 control character, sent as it is or as an HL7 hex escape, in an
    ORU's or an ADT's patient name: refused at PID-5; no patient with such a name exists."""
    names = {"NAME-1": "张\x00三丰", "NAME-2": "张\\X00\\三丰", "NAME-3": "张三丰\x07"}
    for control_id, name in names.items():
        message = oru(control_id, [SODIUM]).to_er7().replace(NAME, name)  # as written
        assert refused(lab.send(message)) == ("AE", control_id, "PID^1^5", "102"), name
    ack = lab.send(adt("A04", "NAME-4", "JH0002", "李\x1b秀英"))
    assert refused(ack) == ("AE", "NAME-4", "PID^1^5", "102")
    assert "U+001B" in ack["ERR"][8]
    nothing_written(lab)


def test_control_characters_in_a_result_are_refused_at_obx_5(lab: Lab):
    with_bell = ("ST", "NOTE", "备注", "轻度\x07溶血", "", "", "", "F")
    ack = lab.send(oru("VAL-1", [SODIUM, with_bell]))
    assert refused(ack) == ("AE", "VAL-1", "OBX^2^5", "102")
    nothing_written(lab)


def test_a_number_or_code_fhir_cannot_hold_is_a_data_type_error_not_an_internal_one(lab: Lab):
    """Before, the huge number and the spaced code reached FHIR validation and came back as
    207 (internal error); the Arabic-Indic digits were read as 6.8."""
    huge = ("NM", "K", "钾", "9" * 400, "mmol/L", "3.5-5.3", "", "F")
    assert refused(lab.send(oru("NUM-1", [huge]))) == ("AE", "NUM-1", "OBX^1^5", "102")
    other_digits = ("NM", "K", "钾", "٦.٨", "mmol/L", "3.5-5.3", "", "F")  # Arabic-Indic
    assert refused(lab.send(oru("NUM-2", [other_digits]))) == ("AE", "NUM-2", "OBX^1^5", "102")
    spaced = ("NM", "K  X", "钾", "6.8", "mmol/L", "3.5-5.3", "", "F")
    assert refused(lab.send(oru("CODE-1", [spaced]))) == ("AE", "CODE-1", "OBX^1^3", "102")
    nothing_written(lab)

    padded = ("NM", " K ", "钾", "6.8", "mmol/L", "3.5-5.3", "", "F")  # fixed-width padding
    assert lab.send(oru("CODE-2", [padded]))["MSA"][1] == "AA"
    [entry] = lab.fhir("/Observation")["entry"]
    assert entry["resource"]["code"]["coding"][0]["code"] == "K"


def test_bytes_not_in_the_senders_encoding_are_refused_at_their_field(lab: Lab):
    """LIS^JHZX is registered as UTF-8; a name in GB18030 bytes is not guessed at."""
    raw = oru("GB-1", [SODIUM]).to_er7().encode("utf-8")
    raw = raw.replace(NAME.encode("utf-8"), NAME.encode("gb18030"))
    ack = lab.send(raw)
    assert refused(ack) == ("AE", "GB-1", "PID^1^5", "102")
    assert "utf-8" in ack["ERR"][8]
    nothing_written(lab)


def test_a_truncated_or_garbled_segment_gets_ae_with_the_control_id(lab: Lab):
    text = oru("CUT-1", [POTASSIUM, SODIUM]).to_er7()
    truncated = text[: text.index("\rOBX|2") + 3]  # the line ends in "OB"
    ack = lab.send(truncated)
    assert (ack["MSA"][1], ack["MSA"][2], ack["ERR"][3][:3]) == ("AE", "CUT-1", "100")
    assert "segment 5" in ack["ERR"][8]
    garbled = oru("CUT-2", [POTASSIUM]).to_er7().replace("\rOBX|", "\robx|")
    assert lab.send(garbled)["MSA"][1:3] == ["AE", "CUT-2"]
    nothing_written(lab)


def test_two_messages_in_one_frame_are_refused_not_merged(lab: Lab):
    first = oru("TWO-1", [POTASSIUM], filler="L-1").to_er7()
    second = adt("A08", "TWO-2", "JH0003", "王芳").to_er7()
    ack = lab.send(first + "\r" + second)
    assert refused(ack) == ("AE", "TWO-1", "MSH^2", "100")
    nothing_written(lab)


def test_a_message_not_starting_with_its_header_is_rejected_with_its_control_id(lab: Lab):
    ack = lab.send("ZZZ\r" + oru("LATE-1", [SODIUM]).to_er7())
    assert ack["MSA"][1:4] == ["AR", "LATE-1", "message header (MSH) cannot be parsed"]
    assert lab.messages() == []
    with_bom = "\ufeff" + oru("BOM-1", [SODIUM]).to_er7()  # Windows LIS software writes one
    assert lab.send(with_bom)["MSA"][1:3] == ["AA", "BOM-1"]


def test_an_internal_fault_is_ae_207_with_the_control_id_and_leaves_nothing(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
):
    def broken(*_args: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setitem(receive.MAPPERS, "ORU^R01", broken)
    message = oru("BUG-1", [SODIUM])
    ack = lab.send(message)
    assert ack["MSA"][1:4] == ["AE", "BUG-1", "internal error, send again later"]
    assert ack["ERR"][3].startswith("207^Application internal error")
    assert lab.messages() == []
    monkeypatch.undo()
    assert lab.send(message)["MSA"][1:3] == ["AA", "BUG-1"]  # sent again: applied
    assert lab.fhir("/Observation?_summary=count")["total"] == 1


def test_control_characters_in_the_header_and_the_name_on_postgresql(
    tmp_path: Path, demo_sqlite: Path, postgres_server: str
):
    """PostgreSQL takes no NUL in text: a NUL in MSH-10 or PID-5 must still be answered as the
    sender's error, never as storage trouble ("send again later")."""
    url = new_postgres_database(postgres_server)
    with (
        start_gateway(tmp_path, demo_sqlite, database_url=url) as gateway,
        mllp_listener(gateway.node.platform) as port,
    ):
        lab = Lab(gateway, port)
        ack = lab.send(oru("PG\x00-1", [NOTE]))
        assert refused(ack) == ("AE", "PG\\X00\\-1", "MSH^1^10", "102")
        named = oru("PG-2", [NOTE])
        named.pid.pid_5 = "张\x00三丰"
        assert refused(lab.send(named)) == ("AE", "PG-2", "PID^1^5", "102")
        nothing_written(lab)
        assert [m.control_id for m in lab.messages()] == ["PG\ufffd-1", "PG-2"]
