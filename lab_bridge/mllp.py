"""MLLP framing (HL7 v2 Minimal Lower Layer Protocol): <VT> message <FS><CR>; and one exchange
with a peer (send a message, read its answer).

Bytes outside a frame are skipped and counted, so a broken frame from a peer does not cost the
connection the messages that follow it.
"""

from __future__ import annotations

import asyncio
import socket

START = b"\x0b"
END = b"\x1c\x0d"
MAX_MESSAGE_BYTES = 16 * 1024 * 1024


class FrameTooLarge(Exception):
    pass


def frame(message: bytes) -> bytes:
    return START + message + END


async def read_frame(reader: asyncio.StreamReader) -> tuple[bytes | None, int]:
    """Return ``(message, skipped_bytes)``; ``message`` is None at end of stream.

    A frame missing its start byte is skipped; when a start byte appears inside an unterminated
    frame, the earlier bytes are skipped and the new frame is read.
    """
    skipped = 0
    try:
        chunk = await reader.readuntil(END)
    except asyncio.IncompleteReadError as exc:
        return None, len(exc.partial)
    except asyncio.LimitOverrunError as exc:
        # Drain the oversized frame so the next one can be read.
        await reader.readexactly(exc.consumed)
        raise FrameTooLarge(f"frame larger than {reader._limit} bytes") from exc
    start = chunk.rfind(START)
    if start < 0:
        return b"", len(chunk)
    skipped += start
    return chunk[start + 1 : -len(END)], skipped


def exchange(host: str, port: int, message: bytes, timeout: float = 30.0) -> bytes:
    """Send one framed message to a peer and return its framed answer's content (blocking;
    for the worker).  ``OSError`` when the peer cannot be reached or does not answer."""
    with socket.create_connection((host, port), timeout=timeout) as connection:
        connection.sendall(frame(message))
        received = b""
        while END not in received:
            chunk = connection.recv(65536)
            if not chunk:
                raise ConnectionError("the peer closed the connection without an answer")
            received += chunk
            if len(received) > MAX_MESSAGE_BYTES:
                raise ConnectionError("the peer's answer is too large")
    start = received.rfind(START, 0, received.index(END))
    return received[start + 1 : received.index(END)]
