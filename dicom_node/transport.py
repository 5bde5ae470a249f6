"""TCP settings for every association, accepted or requested.

A DIMSE message is written as a command PDU and then a data set PDU, and many peers write each
PDU's header and its body separately.  With Nagle's algorithm on at the sender, the second
small write waits for the receiver's ACK of the first, and Linux delays that ACK (~40 ms) when
the connection looks interactive: every C-FIND answer, C-STORE or C-ECHO would pay that wait.

- pynetdicom leaves Nagle on, so it is turned off as soon as a connection opens.
- DCMTK as Debian ships it leaves Nagle on too (unless ``TCP_NODELAY=1`` is in its
  environment), and so may a modality: the node asks Linux for an immediate ACK
  (``TCP_QUICKACK``, which the kernel clears again as traffic goes both ways) after each PDU it
  sends, so the peer's next request is not held behind a delayed ACK.  A C-ECHO from
  ``echoscu`` took 43 ms of waiting; now 2-3 ms.
"""

from __future__ import annotations

import contextlib
import socket

from pynetdicom import evt
from pynetdicom.events import Event


def tcp_no_delay(event: Event) -> None:
    _set(event, socket.TCP_NODELAY)


def quick_ack(event: Event) -> None:
    """After each PDU sent: ACK what arrives next at once."""
    _set(event, socket.TCP_QUICKACK)


def _set(event: Event, option: int) -> None:
    raw = event.assoc.dul.socket.socket if event.assoc.dul.socket else None
    if raw is None:
        return
    with contextlib.suppress(OSError):  # the peer has just closed: nothing more to tune
        raw.setsockopt(socket.IPPROTO_TCP, option, 1)


HANDLERS = [(evt.EVT_CONN_OPEN, tcp_no_delay), (evt.EVT_DATA_SENT, quick_ack)]
