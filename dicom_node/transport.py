"""TCP settings for every association, accepted or requested.

A DIMSE message is written as a command PDU and then a data set PDU, and many peers write each
PDU's header and its body separately.  With Nagle's algorithm on at the sender, the second
small write waits for the receiver's ACK of the first, and Linux delays that ACK (~40 ms) when
the connection looks interactive: every C-FIND answer, C-STORE or C-ECHO would pay that wait.

- pynetdicom leaves Nagle on, so it is turned off as soon as a connection opens.
- DCMTK as Debian ships it leaves Nagle on too (unless ``TCP_NODELAY=1`` is in its
  environment), and so may a modality.  The node asks Linux for an immediate ACK
  (``TCP_QUICKACK``) after each PDU it sends, so the peer's next request is not held behind a
  delayed ACK: a C-ECHO from ``echoscu`` took 43 ms of waiting; then 2-3 ms.
- The kernel clears that request again as traffic goes both ways, and a modality that holds its
  association still waited 42 ms at some of its worklist queries (seen with tcpdump: the
  query's first 12 bytes, then the ACK 42 ms later, then the rest).  So each read from the
  socket also asks for it: what was read is ACKed at once, and the rest of the PDU follows.
"""

from __future__ import annotations

import contextlib
import socket

from pynetdicom import evt
from pynetdicom.events import Event


class _QuickAckSocket(socket.socket):
    """A TCP socket that has whatever it reads ACKed at once."""

    __slots__ = ()

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        data = super().recv(bufsize, flags)
        _set(self, socket.TCP_QUICKACK)
        return data


def ack_reads_at_once(raw: socket.socket) -> None:
    """Each read of ``raw`` (a plain TCP socket: TLS is left as it is) asks for an immediate
    ACK of what it read."""
    if type(raw) is socket.socket:
        raw.__class__ = _QuickAckSocket


def on_open(event: Event) -> None:
    if (raw := _raw(event)) is not None:
        _set(raw, socket.TCP_NODELAY)
        ack_reads_at_once(raw)


def quick_ack(event: Event) -> None:
    """After each PDU sent: ACK what arrives next at once."""
    if (raw := _raw(event)) is not None:
        _set(raw, socket.TCP_QUICKACK)


def _raw(event: Event) -> socket.socket | None:
    return event.assoc.dul.socket.socket if event.assoc.dul.socket else None


def _set(raw: socket.socket, option: int) -> None:
    with contextlib.suppress(OSError):  # the peer has just closed: nothing more to tune
        raw.setsockopt(socket.IPPROTO_TCP, option, 1)


HANDLERS = [(evt.EVT_CONN_OPEN, on_open), (evt.EVT_DATA_SENT, quick_ack)]
