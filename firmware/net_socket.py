"""A :class:`firmware.transport.Transport` over native sockets (PPP or Wi-Fi).

For a module whose modem runs PPP (``network.PPP(uart)`` on MicroPython >= 1.24:
the modem's UART carries IP after ``ATD*99#`` and LWIP does TCP/TLS on the
ESP32) or for a Wi-Fi bench setup. TLS is the ``ssl`` module (mbedTLS).

Non-blocking as the contract asks, with one exception: ``getaddrinfo`` blocks
while the DNS query runs (MicroPython has no asynchronous resolver); give an IP
address, or accept up to the resolver's timeout once per open. The connect
is non-blocking (``EINPROGRESS``, then ``select.poll`` for writability); the
TLS handshake runs inside the first reads and writes of the non-blocking
socket (``do_handshake_on_connect=False``).

Not exercised by the test suite: the WebAssembly port has no ``socket``
module; firmware.net_modem (the modem's own stack) is the tested path.
"""

import select
import socket

from firmware.transport import CLOSED, OPEN, OPENING, Transport

try:
    from typing import Any
except ImportError:
    pass

try:
    import ssl

    HAVE_TLS = True
except ImportError:  # a build without TLS
    HAVE_TLS = False

_EINPROGRESS = (115, 119)  # Linux/LWIP numbers of EINPROGRESS


class SocketTransport(Transport):
    """``tls_files``: {"cacert": PEM/DER, "clientcert": ..., "clientkey": ...}."""

    def __init__(self, tls_files: "dict[str, str | bytes] | None" = None) -> None:
        super().__init__()
        self.tls_files = tls_files or {}
        self._sock: "Any" = None  # socket, then the SSL socket wrapping it
        self._poller: "Any" = None
        self._host = ""
        self._tls = False

    def open(self, host: str, port: int, tls: bool) -> None:
        self.close()
        self.error = ""
        self._host = host
        self._tls = tls
        try:
            addr = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)[0][-1]
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setblocking(False)
            try:
                sock.connect(addr)
            except OSError as exc:
                if exc.args[0] not in _EINPROGRESS:
                    sock.close()
                    raise
        except (OSError, IndexError) as exc:
            self._fail("connect failed: %s" % exc)
            return
        self._sock = sock
        self._poller = select.poll()
        self._poller.register(sock, select.POLLOUT)
        self.state = OPENING

    def _wrap(self, sock: "Any") -> "Any":
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ca = self.tls_files.get("cacert")
        if ca:
            ctx.load_verify_locations(cadata=ca)
            ctx.verify_mode = ssl.CERT_REQUIRED  # type: ignore[attr-defined]  # not in the stubs
        else:
            ctx.verify_mode = ssl.CERT_NONE  # type: ignore[attr-defined]
        cert = self.tls_files.get("clientcert")
        key = self.tls_files.get("clientkey")
        if cert and key:
            ctx.load_cert_chain(cert, key)
        return ctx.wrap_socket(sock, server_hostname=self._host, do_handshake_on_connect=False)

    def poll(self) -> None:
        if self.state != OPENING:
            return
        for _obj, event in self._poller.poll(0):
            if event & (select.POLLERR | select.POLLHUP):
                self._fail("connect failed")
                return
            if event & select.POLLOUT:
                self._poller.unregister(self._sock)
                if self._tls:
                    if not HAVE_TLS:
                        self._fail("no TLS in this build")
                        return
                    try:
                        self._sock = self._wrap(self._sock)
                    except (OSError, ValueError) as exc:
                        self._fail("TLS setup failed: %s" % exc)
                        return
                self.state = OPEN

    def send(self, data: "bytes | bytearray | memoryview") -> int:
        if self.state != OPEN:
            return 0
        try:
            n = self._sock.write(data)
        except OSError as exc:
            self._fail("send failed: %s" % exc)
            return 0
        return int(n or 0)  # None: it would block (or the handshake is still running)

    def recv(self, limit: int) -> bytes:
        if self.state != OPEN:
            return b""
        try:
            data = self._sock.read(limit)
        except OSError as exc:
            self._fail("receive failed: %s" % exc)
            return b""
        if data is None:
            return b""  # nothing waiting
        if not data:
            self._fail("closed by peer")
        return bytes(data)

    def close(self) -> None:
        self.state = CLOSED
        sock, self._sock = self._sock, None
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass

    def _fail(self, why: str) -> None:
        self.close()
        self.error = why
