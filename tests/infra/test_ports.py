"""free_port() and wait_for_port()."""

import socket
import time

from tests.fixtures.ports import LOOPBACK, free_port, port_accepts, wait_for_port


def test_free_port_can_be_bound_and_waited_for() -> None:
    port = free_port()
    assert 1024 <= port <= 65535
    assert not port_accepts(LOOPBACK, port)
    with socket.socket() as server:
        server.bind((LOOPBACK, port))
        server.listen()
        assert wait_for_port(LOOPBACK, port, timeout=2)


def test_wait_for_port_gives_up_at_once_when_the_server_died() -> None:
    started = time.monotonic()
    assert not wait_for_port(LOOPBACK, free_port(), timeout=10, alive=lambda: False)
    assert time.monotonic() - started < 1
