"""LinkProxy with real sockets on 127.0.0.1: pass, cut, blackhole, throttle, schedule."""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from simulators.link import LinkProxy
from simulators.link_modes import LinkMode, parse_mode, parse_schedule


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(65536):
            self.request.sendall(data)


class _EchoServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


@pytest.fixture
def echo() -> Iterator[int]:
    server = _EchoServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def proxy(echo: int) -> Iterator[LinkProxy]:
    with LinkProxy("127.0.0.1", 0, "127.0.0.1", echo) as p:
        yield p


def _connect(proxy: LinkProxy, timeout: float = 1.0) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", proxy.port), timeout=timeout)
    return sock


def _recv_exactly(sock: socket.socket, n: int) -> bytes:
    out = b""
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        if not chunk:
            break
        out += chunk
    return out


def _closed_by_peer(sock: socket.socket) -> bool:
    try:
        return bool(sock.recv(1) == b"")
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def _rejected(proxy: LinkProxy) -> bool:
    """A new connection is closed at once (the reset may even beat connect() home)."""
    try:
        sock = _connect(proxy)
    except ConnectionResetError:
        return True
    with sock:
        return _closed_by_peer(sock)


def _wait_for(predicate: Callable[[], bool], timeout: float = 2.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def test_pass_forwards_and_counts_bytes(proxy):
    with _connect(proxy) as sock:
        sock.sendall(b"x" * 5000)
        assert _recv_exactly(sock, 5000) == b"x" * 5000
    assert _wait_for(lambda: proxy.stats().bytes_down == 5000)
    stats = proxy.stats()
    assert (stats.bytes_up, stats.bytes_down, stats.dropped_up, stats.connections) == (
        5000,
        5000,
        0,
        1,
    )


def test_cut_closes_existing_and_new_connections(proxy):
    sock = _connect(proxy)
    sock.sendall(b"hello")
    assert _recv_exactly(sock, 5) == b"hello"
    proxy.set_mode("cut")
    assert _closed_by_peer(sock)
    sock.close()
    assert _rejected(proxy)
    assert proxy.stats().rejected == 1
    proxy.set_mode("pass")
    with _connect(proxy) as fresh:
        fresh.sendall(b"back")
        assert _recv_exactly(fresh, 4) == b"back"


def test_blackhole_stalls_without_closing(proxy):
    sock = _connect(proxy, timeout=0.3)
    proxy.set_mode("blackhole")
    sock.sendall(b"y" * 100)
    with pytest.raises(TimeoutError):
        sock.recv(1)  # nothing comes back, and the connection is not closed either
    assert _wait_for(lambda: proxy.stats().dropped_up == 100)
    assert proxy.stats().active == 1
    # new connections are accepted and swallowed too
    with _connect(proxy, timeout=0.3) as late:
        late.sendall(b"z" * 10)
        with pytest.raises(TimeoutError):
            late.recv(1)
    # coming back: the connection that lost bytes is reset, new ones work
    proxy.set_mode("pass")
    assert _closed_by_peer(sock)
    sock.close()
    with _connect(proxy) as fresh:
        fresh.sendall(b"ok")
        assert _recv_exactly(fresh, 2) == b"ok"


def test_silent_connection_survives_a_blackhole(proxy):
    with _connect(proxy) as sock:
        sock.sendall(b"a")
        assert _recv_exactly(sock, 1) == b"a"  # connected through before the blackhole
        proxy.set_mode("blackhole")
        time.sleep(0.1)
        proxy.set_mode("pass")
        sock.sendall(b"still here")
        assert _recv_exactly(sock, 10) == b"still here"


def test_throttle_limits_the_rate(proxy):
    proxy.set_mode("throttle", rate_bps=8000)
    payload = b"t" * 6000  # 0.75 s at 8000 B/s (the two directions overlap)
    with _connect(proxy, timeout=5) as sock:
        start = time.monotonic()
        sock.sendall(payload)
        assert _recv_exactly(sock, len(payload)) == payload
        elapsed = time.monotonic() - start
    assert elapsed > 0.6  # a lower bound only: the limit holds


def test_throttle_adds_latency(proxy):
    proxy.set_mode(LinkMode("throttle", rate_bps=1e6, latency_s=0.2))
    with _connect(proxy, timeout=5) as sock:
        start = time.monotonic()
        sock.sendall(b"ping")
        assert _recv_exactly(sock, 4) == b"ping"
        assert time.monotonic() - start > 0.35  # 0.2 s each way


def test_schedule_switches_modes(proxy):
    proxy.run_schedule([(0.2, "blackhole"), (0.2, "cut"), (10, "pass")])
    assert _wait_for(lambda: proxy.mode.kind == "blackhole", 0.5)
    assert _wait_for(lambda: proxy.mode.kind == "cut", 1.0)
    assert _wait_for(lambda: proxy.mode.kind == "pass", 1.0)


def test_schedule_given_at_construction_runs_at_start(echo):
    with LinkProxy("127.0.0.1", 0, "127.0.0.1", echo, schedule=[(5, "cut")]) as p:
        assert _wait_for(lambda: p.mode.kind == "cut", 1.0)
        assert _rejected(p)


def test_unreachable_target_closes_the_client():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]  # nothing listens once closed
    with LinkProxy("127.0.0.1", 0, "127.0.0.1", dead_port) as p:
        assert _rejected(p)


def test_only_loopback_addresses():
    with pytest.raises(ValueError, match="loopback"):
        LinkProxy("0.0.0.0", 0, "127.0.0.1", 1883)
    with pytest.raises(ValueError, match="loopback"):
        LinkProxy("127.0.0.1", 0, "192.0.2.1", 1883)


def test_mode_and_schedule_text():
    assert parse_mode("throttle:2000:300") == LinkMode("throttle", 2000.0, 0.3)
    assert str(parse_mode("throttle:2000:300")) == "throttle:2000:300"
    assert parse_schedule("60:pass,30:cut") == [(60.0, LinkMode("pass")), (30.0, LinkMode("cut"))]
    for bad in ("teleport", "throttle", "cut:5", "throttle:fast"):
        with pytest.raises(ValueError):
            parse_mode(bad)
    for bad in ("60", "x:pass", "-1:pass", "10:nope"):
        with pytest.raises(ValueError):
            parse_schedule(bad)
