"""Received bytes as text, in the encoding the message is in: MSH-18 when it names one, else
the one registered for the sender (Chinese LIS send UTF-8 or GB18030).

The header is read before the sender is known, as UTF-8 with what is not UTF-8 replaced —
enough to find MSH-3/MSH-4 and the encoding, which are ASCII: a stray byte next to a separator
is never taken into a multi-byte character with it (GB18030 would), so the control id is read
even from a message whose bytes are broken.  The whole message is then decoded strictly in its
encoding: bytes that are not text in it are the sender's error at the field they are in, never
replaced by U+FFFD or guessed at in another encoding (the archived bytes stay, and a message
refused for a wrongly registered encoding can be replayed once the registration is corrected).
"""

from __future__ import annotations

import dataclasses

from lab_bridge.errors import ContentError
from lab_bridge.parse import (
    SUPPORTED_VERSIONS,
    Message,
    ParseError,
    header_in,
    normalise,
    parse,
)

CHARSETS = {"UNICODE UTF-8": "utf-8", "UTF-8": "utf-8", "GB 18030-2000": "gb18030",
            "GB18030": "gb18030", "8859/1": "latin-1"}  # fmt: skip


def header_text(raw: bytes) -> str:
    """The bytes as text good enough to read the header (its ASCII fields)."""
    return raw.decode("utf-8", errors="replace")


def best_header(raw: bytes) -> Message | None:
    """The first MSH of bytes that may not parse at all (for an answer); never raises."""
    return header_in(header_text(raw))


def decoded(raw: bytes, header: Message, peer_encoding: str) -> tuple[Message, str]:
    """The message read in its own encoding (MSH-18 when it names one, else the peer's), and
    that encoding (the ACK is sent in it).  ``header``: the message as first read
    (:func:`header_text`); it is what is returned, with the problem, when the bytes are not
    text in the encoding."""
    encoding = CHARSETS.get(header.msh.get(18).upper(), peer_encoding)
    if header.version not in SUPPORTED_VERSIONS:
        return header, encoding
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        problem = _undecodable(raw, exc, encoding, header.msh.get(1))
        return dataclasses.replace(header, segments=header.segments[:1], problem=problem), encoding
    try:
        return parse(text, encoding), encoding
    except ParseError:  # the header read differently in this encoding
        reason = f"the message's header is not {encoding} text"
        problem = ContentError("MSH[1]-18", 102, reason)
        return dataclasses.replace(header, segments=header.segments[:1], problem=problem), encoding


def read(raw: bytes, peer_encoding: str) -> Message:
    """An archived message as it was received (``ParseError`` if it has no usable MSH)."""
    return decoded(raw, parse(header_text(raw)), peer_encoding)[0]


def _undecodable(
    raw: bytes, error: UnicodeDecodeError, encoding: str, separator: str
) -> ContentError:
    """The field holding the first byte that is not text in ``encoding``: its segment is the
    last line of the text before it, its position the separators on that line."""
    before = raw[: error.start].decode(encoding)
    reason = f"byte 0x{raw[error.start]:02X} at offset {error.start} is not {encoding} text"
    lines = normalise(before + "?").split("\r")
    line, number = lines[-1], len(lines)
    name = line.split(separator, 1)[0] if separator else ""
    if len(name) != 3 or not name.isalnum():
        return ContentError(f"segment {number}", 102, reason)
    index = sum(1 for other in lines if other.split(separator, 1)[0] == name)
    position = line.count(separator) + (1 if name == "MSH" else 0)
    return ContentError(f"{name}[{index}]-{position}", 102, reason)
