"""The network bridge: real TCP/TLS connections for firmware running on the WebAssembly port.

The port has no sockets. The firmware's test transport (shim ``hostsocket``)
writes frames to one end of a socket pair; this bridge, a thread of the test
process, holds the other end and relays the stream to a real broker on loopback.
Frames: one type byte, a 16-bit little-endian length, the payload (see the shim).

Faults a test can inject, as a mobile link does:

* :meth:`blackhole`: bytes stop flowing both ways while both ends still believe
  the connection is up (coverage lost, no RST): only keep-alive timeouts notice;
* :meth:`restore`: flowing again (bytes held back in the blackhole are dropped);
* :meth:`drop`: the connection is closed as if reset by the network;
* ``refuse``: new connections fail, as with no coverage at all.
"""

from __future__ import annotations

import contextlib
import select
import socket
import ssl
import struct
import threading
from pathlib import Path
from types import TracebackType

__all__ = ["NetBridge"]


class NetBridge:
    """One firmware process's network; ``fw_fd`` goes to it as host descriptor ``net``."""

    def __init__(self, ca_file: Path | None = None, only_host: str = "127.0.0.1") -> None:
        self._ours, self._theirs = socket.socketpair()
        self._theirs.setblocking(False)
        self._ca_file = ca_file
        self._only_host = only_host
        self._tcp: socket.socket | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._blackholed = False
        self.refuse = False
        self.opens: list[tuple[str, int, bool]] = []  # every open request, in order
        self.bytes_up = 0  # stream bytes relayed to the broker
        self.bytes_down = 0
        self._thread = threading.Thread(target=self._run, name="netbridge", daemon=True)

    @property
    def fw_fd(self) -> int:
        """The descriptor to pass to the firmware process (``pass_fds``)."""
        return self._theirs.fileno()

    def start(self) -> NetBridge:
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._drop_tcp()
        self._ours.close()
        self._theirs.close()

    def __enter__(self) -> NetBridge:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # --- faults ------------------------------------------------------------
    def blackhole(self) -> None:
        self._blackholed = True

    def restore(self) -> None:
        self._blackholed = False

    def drop(self) -> None:
        with self._lock:
            had = self._tcp is not None
            self._drop_tcp()
        if had:
            self._send(b"x", b"connection reset")

    @property
    def connected(self) -> bool:
        return self._tcp is not None

    # --- relay -------------------------------------------------------------
    def _send(self, kind: bytes, payload: bytes = b"") -> None:
        with contextlib.suppress(OSError):
            self._ours.sendall(kind + struct.pack("<H", len(payload)) + payload)

    def _drop_tcp(self) -> None:
        if self._tcp is not None:
            with contextlib.suppress(OSError):
                self._tcp.close()
            self._tcp = None

    def _open(self, payload: bytes) -> None:
        host, port_text, tls_text = payload.decode().split("\0")
        port, tls = int(port_text), tls_text == "1"
        self.opens.append((host, port, tls))
        with self._lock:
            self._drop_tcp()
        if self.refuse or self._blackholed:
            self._send(b"e", b"no network")
            return
        if host not in {self._only_host, "localhost"}:
            # Tests only ever reach loopback; anything else is a bug in the test.
            self._send(b"e", b"bridge reaches loopback only")
            return
        try:
            raw = socket.create_connection((self._only_host, port), timeout=5)
            conn: socket.socket = raw
            if tls:
                ca = str(self._ca_file) if self._ca_file else None
                ctx = ssl.create_default_context(cafile=ca)
                conn = ctx.wrap_socket(raw, server_hostname=host)
            conn.setblocking(False)
        except (OSError, ssl.SSLError) as exc:
            self._send(b"e", str(exc).encode()[:200])
            return
        with self._lock:
            self._tcp = conn
        self._send(b"o")

    def _handle(self, kind: bytes, payload: bytes) -> None:
        if kind == b"O":
            self._open(payload)
        elif kind == b"S":
            with self._lock:
                tcp = self._tcp
            if tcp is None or self._blackholed:
                return
            try:
                tcp.setblocking(True)
                tcp.sendall(payload)
                tcp.setblocking(False)
                self.bytes_up += len(payload)
            except OSError as exc:
                self._lost(tcp, exc)
        elif kind == b"X":
            with self._lock:
                self._drop_tcp()

    def _run(self) -> None:
        inbox = b""
        while not self._stop.is_set():
            with self._lock:
                tcp = self._tcp
            watch: list[socket.socket] = [self._ours] + ([tcp] if tcp is not None else [])
            pending = tcp is not None and isinstance(tcp, ssl.SSLSocket) and tcp.pending() > 0
            readable, _, _ = select.select(watch, [], [], 0 if pending else 0.05)
            if self._ours in readable:
                chunk = self._ours.recv(65536)
                if not chunk:
                    return  # the firmware process ended
                inbox += chunk
                while len(inbox) >= 3:
                    (n,) = struct.unpack("<H", inbox[1:3])
                    if len(inbox) < 3 + n:
                        break
                    kind, payload, inbox = inbox[0:1], inbox[3 : 3 + n], inbox[3 + n :]
                    self._handle(kind, payload)
            if tcp is not None and (tcp in readable or pending):
                self._pump_down(tcp)

    def _lost(self, tcp: socket.socket, exc: OSError | None) -> None:
        """``tcp`` failed or closed: tell the firmware, unless it is already a newer one's turn."""
        with self._lock:
            if self._tcp is not tcp:
                return  # dropped (drop(), a new open) while this read or send was under way
            self._drop_tcp()
        self._send(b"x", str(exc).encode()[:200] if exc else b"closed by peer")

    def _pump_down(self, tcp: socket.socket) -> None:
        try:
            data = tcp.recv(4096)
        except (ssl.SSLWantReadError, BlockingIOError):
            return
        except OSError as exc:
            self._lost(tcp, exc)
            return
        if not data:
            self._lost(tcp, None)
            return
        if self._blackholed:
            return
        self.bytes_down += len(data)
        self._send(b"R", data)
