"""TCP settings for every association, accepted or requested.

A DIMSE message is written as a command PDU and then a data set PDU.  With Nagle's algorithm on,
the second small write waits for the peer's (delayed, ~40 ms) ACK of the first: every C-FIND
answer and every C-STORE sub-operation would pay that wait.  pynetdicom leaves Nagle on, so
this turns it off as soon as a connection opens (DCMTK does the same by default).
"""

from __future__ import annotations

import socket

from pynetdicom import evt
from pynetdicom.events import Event


def tcp_no_delay(event: Event) -> None:
    raw = event.assoc.dul.socket.socket if event.assoc.dul.socket else None
    if raw is not None:
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


HANDLERS = [(evt.EVT_CONN_OPEN, tcp_no_delay)]
