"""The node's TCP tuning: what it reads is ACKed at once, whatever the peer's Nagle setting."""

from __future__ import annotations

import socket

from dicom_node.transport import ack_reads_at_once


def _connected() -> tuple[socket.socket, socket.socket, socket.socket]:
    listener = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(listener.getsockname()[:2])
    server, _ = listener.accept()
    return listener, client, server


def test_a_read_asks_for_an_immediate_ack_of_what_it_read() -> None:
    listener, client, server = _connected()
    with listener, client, server:
        ack_reads_at_once(server)
        # Linux's delayed-ACK mode, as it takes it for an interactive connection
        server.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 0)
        assert server.getsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK) == 0
        client.sendall(b"\x04\x00\x00\x00\x00\x0c")  # a P-DATA-TF header, the body to follow
        assert server.recv(6) == b"\x04\x00\x00\x00\x00\x0c"
        assert server.getsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK) == 1


def test_the_socket_is_otherwise_the_same() -> None:
    listener, client, server = _connected()
    with listener, client, server:
        ack_reads_at_once(server)
        assert isinstance(server, socket.socket)
        client.sendall(b"ping")
        assert server.recv(4) == b"ping"
        server.sendall(b"pong")
        assert client.recv(4) == b"pong"
