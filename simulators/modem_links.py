"""The simulated modem's data links: real TCP (and TLS) connections to loopback hosts.

One :class:`Link` per ``AT+CIPOPEN`` link or ``AT+CCHOPEN`` session. It connects
in its own thread (the AT loop keeps answering meanwhile, as the modem does),
then a reader thread keeps what the peer sends in ``rx`` until the firmware
reads it (``AT+CIPRXGET=2`` / ``AT+CCHRECV``), telling the modem through
``on_event`` when ``rx`` stops being empty and when the peer is gone.

Only loopback destinations are ever connected: an IP literal in 127.0.0.0/8 or
::1, or ``localhost``. Any other name is refused without a DNS lookup, so no
test can reach the internet through the simulator.
"""

from __future__ import annotations

import contextlib
import select
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from simulators.link import is_loopback

__all__ = ["Link", "TlsSettings", "is_loopback"]

CONNECT_TIMEOUT_S = 10.0

# Events a link reports to the modem: data waiting (rx went from empty to not),
# closed by the peer (all received bytes were read), opened (err 0) or failed.
EVENT_DATA = "data"
EVENT_CLOSED = "closed"
EVENT_OPENED = "opened"


@dataclass
class TlsSettings:
    """What ``AT+CSSLCFG`` configured for SSL context 0, plus the stored files."""

    authmode: int = 0  # 0 none, 1 server, 2 server + client
    cacert: str = ""  # file names (AT+CCERTDOWN) used by the context
    clientcert: str = ""
    clientkey: str = ""
    sni: bool = True
    files: dict[str, bytes] = field(default_factory=dict)


class Link:
    """One connection; ``on_event(link, event, value)`` is called from its threads."""

    def __init__(
        self,
        number: int,
        host: str,
        port: int,
        tls: TlsSettings | None,
        *,
        on_event: Callable[[Link, str, int], None],
        key_dir: str,
    ) -> None:
        self.number = number
        self.host = host
        self.port = port
        self.tls = tls
        self._on_event = on_event
        self._key_dir = key_dir
        self.rx = bytearray()
        self.lock = threading.Lock()
        self.sock: socket.socket | None = None
        self.open = False
        self.peer_closed = False
        self.close_reported = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"modem-link{number}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    # -- connect ---------------------------------------------------------------

    def _connect(self) -> socket.socket:
        raw = socket.create_connection((self.host, self.port), timeout=CONNECT_TIMEOUT_S)
        if self.tls is None:
            raw.settimeout(None)
            return raw
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        files = self.tls.files
        if self.tls.authmode >= 1 and self.tls.cacert in files:
            ctx.load_verify_locations(cadata=files[self.tls.cacert].decode("ascii", "replace"))
        else:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if self.tls.authmode >= 2 and self.tls.clientcert in files and self.tls.clientkey in files:
            cert = f"{self._key_dir}/link{self.number}.crt"
            key = f"{self._key_dir}/link{self.number}.key"
            with open(cert, "wb") as out:
                out.write(files[self.tls.clientcert])
            with open(key, "wb") as out:
                out.write(files[self.tls.clientkey])
            ctx.load_cert_chain(cert, key)
        name = self.host if self.tls.sni or ctx.check_hostname else None
        wrapped = ctx.wrap_socket(raw, server_hostname=name)
        wrapped.settimeout(None)
        return wrapped

    def _run(self) -> None:
        try:
            sock = self._connect()
        except ssl.SSLError:
            self._on_event(self, EVENT_OPENED, 15)  # handshake error
            return
        except OSError:
            self._on_event(self, EVENT_OPENED, 10 if self.tls is None else 14)
            return
        if self._stop.is_set():
            sock.close()
            return
        sock.setblocking(False)
        self.sock = sock
        self.open = True
        self._on_event(self, EVENT_OPENED, 0)
        self._read_loop(sock)

    # -- data --------------------------------------------------------------------

    def _read_loop(self, sock: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                with self.lock:
                    chunk = sock.recv(4096)
            except (ssl.SSLWantReadError, BlockingIOError):
                chunk = None
            except ssl.SSLWantWriteError:
                chunk = None
            except OSError:
                chunk = b""
            if self._stop.is_set():
                return  # closed from our side meanwhile: nothing to report
            if chunk is None:
                with contextlib.suppress(OSError, ValueError):  # closed under us: recv says so
                    select.select([sock], [], [], 0.1)
                continue
            if not chunk:
                self._peer_gone()
                return
            with self.lock:
                was_empty = not self.rx
                self.rx += chunk
            if was_empty:
                self._on_event(self, EVENT_DATA, len(chunk))

    def _peer_gone(self) -> None:
        with self.lock:
            self.peer_closed = True
            drained = not self.rx
        self.open = False
        if drained:
            self._on_event(self, EVENT_CLOSED, 1)

    def take(self, limit: int) -> tuple[bytes, int]:
        """Up to ``limit`` received bytes and how many remain after them."""
        with self.lock:
            out = bytes(self.rx[:limit])
            del self.rx[:limit]
            rest = len(self.rx)
            closed_now = self.peer_closed and not rest
        if closed_now and out:
            self._on_event(self, EVENT_CLOSED, 1)  # the close waited for the data
        return out, rest

    def send(self, data: bytes) -> bool:
        """Send all of ``data``; False if the connection is gone."""
        sock = self.sock
        if sock is None or not self.open:
            return False
        view = memoryview(data)
        while view:
            try:
                with self.lock:
                    n = sock.send(view)
                view = view[n:]
            except (ssl.SSLWantWriteError, ssl.SSLWantReadError, BlockingIOError):
                select.select([], [sock], [], 0.1)
            except OSError:
                return False
        return True

    def close(self) -> None:
        """Close from our side (AT close command, coverage lost, power off)."""
        self._stop.set()
        self.open = False
        sock, self.sock = self.sock, None
        if sock is not None:
            try:
                with self.lock:
                    sock.close()
            except OSError:
                pass
