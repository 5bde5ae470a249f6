"""Reading HL7 v2: what the sender got wrong is kept with its place, never raised as anything
but a ContentError at that place (or, with no MSH at all, a ParseError)."""

from __future__ import annotations

import pytest

from lab_bridge.ack import AckCode, Header, build_ack, internal_error
from lab_bridge.decode import decoded
from lab_bridge.errors import ContentError
from lab_bridge.parse import ParseError, escape, parse

HEADER = "MSH|^~\\&|LIS|JHZX|YILIAN|JHZX|20261201090500||ORU^R01|C-1|P|2.5"
PID = "PID|1||TX1^^^tx-wsy^PI||张三丰||19800101|M"


def test_unusable_encoding_characters_leave_the_header_readable():
    message = parse(HEADER.replace("^~\\&", "^^^^") + "\r" + PID)
    assert (message.control_id, message.message_type) == ("C-1", "ORU^R01")
    assert message.problem is not None
    assert (message.problem.where, message.problem.code) == ("MSH[1]-2", 102)


def test_without_the_subcomponent_separator_the_message_is_read():
    message = parse(HEADER.replace("^~\\&", "^~\\") + "\r" + PID)
    assert message.problem is None
    assert message.first("PID").get(5) == "张三丰"


@pytest.mark.parametrize(
    ("body", "where", "code"),
    [
        ("\rOB", "segment 3", 100),
        ("\rpid|1", "segment 3", 100),
        ("\r" + HEADER, "MSH[2]", 100),
    ],
)
def test_a_broken_frame_is_the_messages_problem(body: str, where: str, code: int):
    message = parse(HEADER + "\r" + PID + body)
    assert message.control_id == "C-1"
    assert message.problem is not None
    assert (message.problem.where, message.problem.code) == (where, code)


@pytest.mark.parametrize("name", ["张\x00三丰", "张\\X00\\三丰", "张三丰\x1b", "张\\XFF\\三丰"])
def test_text_a_field_cannot_hold_is_refused_when_the_field_is_read(name: str):
    pid = parse(HEADER + "\r" + PID.replace("张三丰", name)).first("PID")
    assert pid is not None
    assert pid.get(8) == "M"  # the other fields are read as they are
    with pytest.raises(ContentError) as raised:
        pid.get(5)
    assert (raised.value.where, raised.value.code) == ("PID[1]-5", 102)


def test_tabs_and_line_breaks_are_text():
    pid = parse(HEADER + "\r" + PID.replace("张三丰", "张\t三\\.br\\丰")).first("PID")
    assert pid is not None
    assert pid.get(5) == "张\t三\n丰"


def test_a_control_character_in_the_header_is_the_messages_problem():
    message = parse(HEADER.replace("C-1", "C\x00-1") + "\r" + PID)
    assert message.control_id == "C\x00-1"  # read, to be echoed
    assert message.problem is not None
    assert (message.problem.where, message.problem.code) == ("MSH[1]-10", 102)


def test_without_an_msh_first_the_one_further_on_is_found_for_the_answer():
    with pytest.raises(ParseError) as raised:
        parse("ZZZ|1\r" + HEADER)
    assert raised.value.header is not None
    assert raised.value.header.control_id == "C-1"


def test_bytes_not_in_the_encoding_are_an_error_at_their_field():
    raw = (
        (HEADER + "\r" + PID).encode("utf-8").replace("张三丰".encode(), "张三丰".encode("gb18030"))
    )
    header = parse(raw.decode("gb18030"))
    message, encoding = decoded(raw, header, "utf-8")
    assert encoding == "utf-8"
    assert message.problem is not None
    assert (message.problem.where, message.problem.code) == ("PID[1]-5", 102)
    read, _ = decoded(raw, header, "gb18030")
    assert read.problem is None
    assert read.first("PID").get(5) == "张三丰"


def test_control_characters_are_escaped_in_answers():
    assert escape("C\x00-1|^") == "C\\X00\\-1\\F\\\\S\\"
    header = Header(control_id="C\x00-1")
    ack = build_ack(header, AckCode.ERROR, "storage down", internal_error("storage down"))
    assert "\x00" not in ack
    assert ack.split("\r")[1] == "MSA|AE|C\\X00\\-1|storage down"
    assert ack.split("\r")[2] == "ERR|||207^Application internal error^HL70357|E||||storage down"
