"""The MLLP listener as a careless or broken LIS tries it: valid ORU^R01 and ADT messages (built
with hl7apy) broken by Hypothesis — fields and components deleted, separators changed, control
characters, bad timestamps and time zones, bad numbers, the wrong encoding (UTF-8 / GB18030),
truncated segments, a second MSH — sent one after another on one real MLLP connection.

Bounded by the Hypothesis profile (tests/conftest.py: a fixed set of 300 examples in
``make test``; ``bench/fuzz.sh`` runs many more) so that it runs in seconds.  Whatever was
sent, the sender gets exactly one ACK; never "internal error" (ERR-3 207) for its own
mistakes, nor AR but for a message type, version or sender not taken; MSA-2 is the message's
MSH-10 whenever that can be read; a refused message is archived as failed and leaves no FHIR
resource; and the listener still answers afterwards."""

from __future__ import annotations

import itertools
import socket
from collections import Counter

from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from lab_bridge.mllp import END, frame
from storage import transaction
from storage.models import FhirResourceVersion, Hl7Message
from tests.integration.lab.conftest import NOTE, POTASSIUM, SODIUM, Lab, oru
from tests.integration.lab.test_patients import adt

# AR is for what is not taken at all, never for content: these and nothing else.
NOT_TAKEN = {"200", "203"}
NO_HEADER = {"message header (MSH) cannot be parsed", "sending application/facility not registered"}

TIMESTAMPS = st.sampled_from([
    "20261201085000+9999", "20261201085000-2400", "20261201085000+0860", "20261301085000",
    "20260231", "00000101", "2026120108500", "2026-12-01", "２０２６１２０１", "yesterday",
    "20261201085000.12345", "20261201246000", "20261201085000+1400", "99991231235959-1200",
    "00010101000000+1400", "",
])  # fmt: skip
NUMBERS = st.sampled_from(
    ["1.2.3", "9" * 400, "NaN", "inf", "1e5", "-", "٦.٨", "<", ">=", "^", "0x1F", " 6.8 ", ""]
)
# Not LF and CR (segment separators) nor VT and FS (MLLP framing): the structure itself.
CONTROLS = st.sampled_from(
    [chr(c) for c in (*range(0x00, 0x0A), 0x0C, *range(0x0E, 0x1C), 0x1D, 0x1E, 0x1F, 0x7F)]
)
SEPARATORS = st.sampled_from(["^^^^", "^~\\", "^~", "", "^~\\&#", "|~\\&", "a~\\&", "~^\\&"])


def message(kind: str, control_id: str) -> list[list[str]]:
    """A valid message as segments of fields (split on the field separator)."""
    if kind == "ORU":
        built = oru(control_id, [POTASSIUM, SODIUM, NOTE]).to_er7()
    else:
        built = adt("A08", control_id, "JH0100", "李秀英").to_er7()
    return [line.split("|") for line in built.split("\r")]


def mutate(segments: list[list[str]], data: st.DataObject) -> None:
    """One thing a broken sender does to a message, in place."""
    kind = data.draw(st.sampled_from([
        "delete field", "delete component", "change separator", "control character",
        "timestamp", "number", "truncate segment", "second MSH", "delete segment", "MSH-2",
    ]))  # fmt: skip
    row = data.draw(st.integers(0, len(segments) - 1))
    fields = segments[row]
    column = data.draw(st.integers(1, max(1, len(fields) - 1)))
    if kind == "MSH-2" and len(segments[0]) > 1:
        segments[0][1] = data.draw(SEPARATORS)
    elif kind == "delete field" and column < len(fields) and (row, column) != (0, 1):
        fields[column] = ""
    elif kind == "delete component" and column < len(fields) and "^" in fields[column]:
        parts = fields[column].split("^")
        del parts[data.draw(st.integers(0, len(parts) - 1))]
        fields[column] = "^".join(parts)
    elif kind == "change separator" and column < len(fields):
        fields[column] = fields[column].replace(
            data.draw(st.sampled_from(["^", "~"])), data.draw(st.sampled_from(["|", "&", "~", "#"]))
        )
    elif kind == "control character" and column < len(fields):
        at = data.draw(st.integers(0, len(fields[column])))
        value = fields[column]
        fields[column] = value[:at] + data.draw(CONTROLS) + value[at:]
    elif kind == "timestamp":
        where = [(r, c) for r, s in enumerate(segments) for c, v in enumerate(s)
                 if v[:8].isdigit() and v[:3] in ("202", "198")]  # fmt: skip
        if where:
            r, c = data.draw(st.sampled_from(where))
            segments[r][c] = data.draw(TIMESTAMPS)
    elif kind == "number":
        numeric = [s for s in segments if s[0] == "OBX" and len(s) > 5 and s[2] == "NM"]
        if numeric:
            data.draw(st.sampled_from(numeric))[5] = data.draw(NUMBERS)
    elif kind == "truncate segment":
        line = "|".join(fields)
        segments[row] = line[: data.draw(st.integers(0, len(line)))].split("|")
    elif kind == "second MSH":
        copy = list(segments[0])
        if len(copy) > 9:
            copy[9] = data.draw(st.sampled_from([copy[9], copy[9] + "B"]))
        segments.insert(data.draw(st.integers(1, len(segments))), copy)
    elif kind == "delete segment" and len(segments) > 1:
        del segments[row]


def encoded(text: str, data: st.DataObject) -> bytes:
    """As UTF-8 (what the sender is registered with), or wrongly: GB18030, MSH-18 naming
    GB18030 over UTF-8 bytes, a stray byte that is neither."""
    how = data.draw(st.sampled_from(["utf-8", "utf-8", "utf-8", "gb18030", "msh-18", "stray"]))
    if how == "gb18030":
        return text.encode("gb18030")
    if how == "msh-18":
        header, _, rest = text.partition("\r")
        fields = header.split("|") + [""] * 18
        fields[17] = "GB18030"
        return ("|".join(fields).rstrip("|") + "\r" + rest).encode("utf-8")
    raw = text.encode("utf-8")
    if how == "stray":
        at = data.draw(st.integers(0, len(raw)))
        stray = data.draw(st.sampled_from([b"\xff", b"\xc3", b"\x80", b"\xe5\xbc"]))
        raw = raw[:at] + stray + raw[at:]
    return raw


def readable_control_id(raw: bytes) -> str | None:
    """MSH-10 as anyone would read it: the message's first segment is an MSH with the usual
    field separator, and its tenth field is plain printable text."""
    first = raw.removeprefix(b"\xef\xbb\xbf").split(b"\r", 1)[0]
    if not first.startswith(b"MSH|"):
        return None
    fields = first.split(b"|")
    value = fields[9] if len(fields) > 9 else b""
    if not value or not all(0x20 < b < 0x7F for b in value) or set(value) & set(b"\\^~&"):
        return None
    return value.decode("ascii")


class Connection:
    """One MLLP connection that notices an answer too many."""

    def __init__(self, port: int) -> None:
        self.socket = socket.create_connection(("127.0.0.1", port), timeout=30)

    def send(self, raw: bytes) -> dict[str, list[str]]:
        self.socket.sendall(frame(raw))
        received = b""
        while not received.endswith(END):
            chunk = self.socket.recv(65536)
            assert chunk, "the listener closed the connection without an answer"
            received += chunk
        assert received.count(END) == 1, f"more than one answer: {received!r}"
        text = received.strip(b"\x0b\x1c\r")
        try:
            decoded = text.decode("utf-8")
        except UnicodeDecodeError:
            decoded = text.decode("gb18030")
        return {line.split("|")[0]: line.split("|") for line in decoded.split("\r") if line}

    def nothing_more(self) -> bool:
        self.socket.settimeout(0.5)
        try:
            return self.socket.recv(65536) == b""
        except TimeoutError:
            return True

    def close(self) -> None:
        self.socket.close()


def error_code(ack: dict[str, list[str]]) -> str:
    """ERR-3's table 0357 code (2.5), or ERR-1's (2.3/2.4: segment^sequence^field^code&…)."""
    err = ack.get("ERR")
    if err is None:
        return ""
    if len(err) > 3 and err[3]:
        return err[3].split("^")[0]
    return err[1].split("^")[3].split("&")[0] if err[1].count("^") >= 3 else ""


def counts(lab: Lab) -> tuple[int, Counter[str]]:
    """FHIR resource versions written, and archived messages by state."""
    with transaction(lab.platform.sessions) as session:
        versions = session.scalar(select(func.count()).select_from(FhirResourceVersion))
        states = Counter(dict(session.execute(
            select(Hl7Message.state, func.count()).group_by(Hl7Message.state)
        ).all()))  # fmt: skip
    return versions or 0, states


def test_malformed_messages_each_get_one_honest_ack_and_leave_nothing_half_written(lab: Lab):
    connection = Connection(lab.port)
    numbers = itertools.count(1)
    answered: Counter[str] = Counter()

    @settings(  # examples and seed: the Hypothesis profile (tests/conftest.py)
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(data=st.data())
    def one_message(data: st.DataObject) -> None:
        kind = data.draw(st.sampled_from(["ORU", "ADT"]))
        segments = message(kind, f"FZ{next(numbers):05d}")
        for _ in range(data.draw(st.integers(1, 3))):
            mutate(segments, data)
        raw = encoded("\r".join("|".join(fields) for fields in segments), data)
        assume(raw)  # an empty frame is no message: there is nothing to acknowledge
        before, states_before = counts(lab)

        ack = connection.send(raw)

        code, err = ack["MSA"][1], error_code(ack)
        text = ack["MSA"][3] if len(ack["MSA"]) > 3 else ""
        answered[code] += 1
        assert code in ("AA", "AE", "AR"), ack
        assert err != "207", ack  # never "internal error" for the sender's mistakes
        assert "send again later" not in text, ack
        if code == "AR":  # not taken at all: the type, the version, the sender, no control id
            no_control_id = (err, ack.get("ERR", ["", "", ""])[2]) == ("101", "MSH^1^10")
            assert err in NOT_TAKEN or text in NO_HEADER or no_control_id, ack
        expected = readable_control_id(raw)
        if expected is not None:
            assert ack["MSA"][2] == expected, ack
        after, states_after = counts(lab)
        if code != "AA":
            assert after == before, f"{code} but FHIR resources written: {ack}"
        if code == "AE":
            assert states_after["failed"] == states_before["failed"] + 1, ack  # archived as failed

    try:
        one_message()
        assert connection.nothing_more(), "an answer nobody asked for"
    finally:
        connection.close()
    assert answered["AE"] > sum(answered.values()) // 3, answered  # it reached the content checks
    assert answered["AA"] > 0, answered

    ack = lab.send(oru("AFTER-1", [POTASSIUM], filler="L-AFTER"))
    assert ack["MSA"][1:3] == ["AA", "AFTER-1"]
    found = lab.fhir("/DiagnosticReport?identifier=urn:yilian:lab-report:jhzx|L-AFTER")
    assert found["total"] == 1
