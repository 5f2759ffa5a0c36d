"""A :class:`firmware.transport.Transport` over the modem's own TCP/IP and SSL stacks.

The MQTT client's bytes go through AT commands on the modem's UART (shared with
firmware.modem, which opened the network with ``AT+NETOPEN``). One connection,
link/session 0. Everything is a small coroutine driven by :meth:`poll`; a
command waits while the channel is busy with another one.

Plain TCP (A76XX AT Command Manual V1.11, "TCPIP"; the same on the SIM7600):

* open: ``AT+CIPOPEN=0,"TCP","<host>",<port>`` -> ``OK``, then the URC
  ``+CIPOPEN: 0,<err>`` (0 = connected; e.g. 1 network failure, 2 network not
  opened, 4 operation not allowed, 10 open socket failed).
* send: ``AT+CIPSEND=0,<len>`` -> prompt ``>``, ``<len>`` raw bytes -> ``OK``,
  then ``+CIPSEND: 0,<requested>,<confirmed>``.
* receive (manual mode, ``AT+CIPRXGET=1`` set at bring-up): the URC
  ``+CIPRXGET: 1,0`` says data waits; ``AT+CIPRXGET=2,0,<max>`` ->
  ``+CIPRXGET: 2,0,<read_len>,<rest_len>``, ``<read_len>`` raw bytes, ``OK``.
* close: ``AT+CIPCLOSE=0`` -> ``OK``, ``+CIPCLOSE: 0,<err>``; closed by the
  peer or the network: URC ``+IPCLOSE: 0,<reason>`` (1 remote, 2 timeout).

TLS (same manual, "SSL"; ``CCH`` commands):

* once per modem bring-up: ``AT+CCHSET=1,1`` (report send results, manual
  receive), ``AT+CCHSTART`` -> ``OK``, ``+CCHSTART: 0``; the PEM files given as
  ``tls_files`` are written with ``AT+CCERTDOWN="<name>",<len>`` -> ``>``, the
  bytes -> ``OK``; then ``AT+CSSLCFG="sslversion",0,4`` (any TLS),
  ``AT+CSSLCFG="authmode",0,<0 none|1 server|2 server+client>``,
  ``AT+CSSLCFG="cacert"|"clientcert"|"clientkey",0,"<name>"``,
  ``AT+CSSLCFG="enableSNI",0,1``, ``AT+CCHSSLCFG=0,0``.
* open: ``AT+CCHOPEN=0,"<host>",<port>,2`` -> ``OK``, then
  ``+CCHOPEN: 0,<err>`` (0 = handshake done; 15 handshake error...).
* send: ``AT+CCHSEND=0,<len>`` -> ``>``, the bytes -> ``OK`` (+ ``+CCHSEND: 0,0``).
* receive: URC ``+CCHEVENT: 0,RECV EVENT``; ``AT+CCHRECV=0,<max>`` ->
  ``+CCHRECV: DATA,0,<len>``, the raw bytes, ``+CCHRECV: 0,0``, ``OK``.
* close: ``AT+CCHCLOSE=0`` -> ``OK``, ``+CCHCLOSE: 0,<err>``; by the peer:
  URC ``+CCH_PEER_CLOSED: 0``.

A read that fills the whole request may leave more behind, so reading goes on
until a short read; and every ``idle_read_ms`` an open connection reads once
anyway, in case a ``RECV`` URC was lost. The modem losing the network (not
``ready``) closes the connection with ``error`` set; nothing raises.
"""

import time

try:
    from typing import Any, Generator
except ImportError:
    pass

from firmware.at import OK, AtChannel, Request, fields
from firmware.transport import CLOSED, OPEN, OPENING, Transport

_CA = "myenergy_ca.pem"
_CERT = "myenergy_cert.pem"
_KEY = "myenergy_key.pem"
_FILES = (("cacert", _CA), ("clientcert", _CERT), ("clientkey", _KEY))


class ConnectionFailedError(Exception):
    """The connection cannot go on; the message is the transport's ``error``."""


class ModemTransport(Transport):
    """Transport through ``modem`` (a :class:`firmware.modem.Modem`)."""

    def __init__(
        self,
        modem: "Any",
        tls_files: "dict[str, str | bytes] | None" = None,
        *,
        open_ms: int = 60000,
        chunk: int = 1024,
        tx_max: int = 4096,
        rx_max: int = 4096,
        idle_read_ms: int = 10000,
    ) -> None:
        super().__init__()
        self.modem = modem
        self.at: AtChannel = modem.at
        # {"cacert": pem, "clientcert": pem, "clientkey": pem}, each optional
        self.tls_files = tls_files or {}
        self.open_ms = open_ms
        self.chunk = chunk
        self.tx_max = tx_max
        self.rx_max = rx_max
        self.idle_read_ms = idle_read_ms
        self._tx = bytearray()
        self._rx = bytearray()
        self._task: "Generator[None, None, None] | None" = None
        self._tls = False
        self._linked = False  # the modem may hold a link/session for us
        self._setup_for = -1  # modem.bringups when the SSL service was set up
        self._opened: "int | None" = None  # +CIPOPEN/+CCHOPEN <err>
        self._peer_closed = ""
        self._rx_pending = False
        self._last_read = 0
        self.bytes_up = 0
        self.bytes_down = 0
        at = self.at
        at.on_urc("+CIPRXGET: 1,", self._on_rx_event)
        at.on_data("+CIPRXGET: 2,", 2, self._on_tcp_data)
        at.on_urc("+CIPOPEN:", self._on_opened)
        at.on_urc("+IPCLOSE:", self._on_peer_closed)
        at.on_urc("+CCHEVENT:", self._on_rx_event)
        at.on_data("+CCHRECV: DATA,", 2, self._on_tls_data)
        at.on_urc("+CCHOPEN:", self._on_opened)
        at.on_urc("+CCH_PEER_CLOSED:", self._on_peer_closed)
        for quiet in ("+CIPSEND:", "+CIPCLOSE:", "+CCHSEND:", "+CCHRECV:", "+CCHCLOSE:"):
            at.on_urc(quiet, _ignore)
        at.on_urc("+CCHSTART:", _ignore)
        at.on_urc("+CCHSTOP:", _ignore)

    # -- URCs -------------------------------------------------------------------

    def _on_rx_event(self, line: str) -> None:
        if self.state == OPEN:
            self._rx_pending = True

    def _on_opened(self, line: str) -> None:
        vals = fields(line[line.find(":") + 1 :])
        if len(vals) >= 2 and vals[0] == "0" and vals[1].isdigit():
            self._opened = int(vals[1])

    def _on_peer_closed(self, line: str) -> None:
        if self.state != CLOSED:
            vals = fields(line[line.find(":") + 1 :])
            reason = vals[1] if len(vals) >= 2 else ""
            why = {"1": "closed by peer", "2": "closed: send timeout"}.get(reason, "closed by peer")
            self._peer_closed = why
        self._linked = False

    def _on_data(self, data: bytes, asked_full: bool) -> None:
        self._rx.extend(data)
        self.bytes_down += len(data)
        self._rx_pending = asked_full

    def _on_tcp_data(self, header: str, data: bytes) -> None:
        vals = fields(header[header.find(":") + 1 :])
        rest = int(vals[3]) if len(vals) >= 4 and vals[3].isdigit() else 0
        self._on_data(data, rest > 0 or len(data) >= self.chunk)

    def _on_tls_data(self, header: str, data: bytes) -> None:
        self._on_data(data, len(data) >= self.chunk)

    def _forget_open(self) -> None:
        self._opened = None

    # -- the Transport contract ----------------------------------------------------

    def open(self, host: str, port: int, tls: bool) -> None:
        self.close()
        self.error = ""
        self._tx = bytearray()
        self._rx = bytearray()
        self._peer_closed = ""
        self._rx_pending = False
        # close() queued the release of the old link: the new one runs it first
        stale = self._task if self._linked else None
        self._tls = tls
        self.state = OPENING
        self._task = self._run(host, port, tls, stale)

    def poll(self) -> None:
        if self.state != CLOSED and not self.modem.ready:
            self._fail("modem not ready: " + (self.modem.error or self.modem.state))
            self._linked = False  # the network went down with it
            self._task = None
        if self._task is None:
            return
        try:
            next(self._task)
        except StopIteration:
            self._task = None
        except ConnectionFailedError as exc:
            self._task = None
            self._fail(str(exc))
            self._task = self._close_link(self._tls)
        except Exception as exc:  # errors never escape poll (the contract)
            self._task = None
            self._fail("internal: %r" % exc)

    def send(self, data: "bytes | bytearray | memoryview") -> int:
        if self.state != OPEN:
            return 0
        take = min(len(data), self.tx_max - len(self._tx))
        if take > 0:
            self._tx.extend(data[:take])
        return max(0, take)

    def recv(self, limit: int) -> bytes:
        if not self._rx:
            return b""
        out = bytes(self._rx[:limit])
        self._rx = self._rx[limit:]
        return out

    def close(self) -> None:
        was = self.state
        self.state = CLOSED
        self._tx = bytearray()
        if was != CLOSED or self._linked:
            self._task = self._close_link(self._tls)

    def _fail(self, why: str) -> None:
        if self.state != CLOSED:
            self.error = why
        self.state = CLOSED
        self._tx = bytearray()

    # -- coroutines -------------------------------------------------------------------

    def _cmd(
        self,
        cmd: str,
        timeout_ms: int = 5000,
        expect: "str | None" = None,
        data: "bytes | None" = None,
    ) -> "Generator[None, None, Request]":
        return self.at.command(cmd, timeout_ms, expect, data)

    def _must(
        self, cmd: str, timeout_ms: int = 5000, data: "bytes | None" = None
    ) -> "Generator[None, None, Request]":
        req = yield from self._cmd(cmd, timeout_ms, None, data)
        if req.state != OK:
            raise ConnectionFailedError("%s failed (%d)" % (cmd.split("=", maxsplit=1)[0], req.cme))
        return req

    def _close_link(self, tls: bool) -> "Generator[None, None, None]":
        if not self._linked:
            return
        self._linked = False
        if not self.modem.ready:
            return
        yield from self._cmd("AT+CCHCLOSE=0" if tls else "AT+CIPCLOSE=0", 5000)

    def _setup_tls(self) -> "Generator[None, None, None]":
        yield from self._cmd("AT+CCHSET=1,1")
        yield from self._cmd("AT+CCHSTART", 10000)  # ERROR if already started: fine
        for kind, name in _FILES:
            pem = self.tls_files.get(kind)
            if pem:
                if isinstance(pem, str):
                    pem = pem.encode()
                cmd = 'AT+CCERTDOWN="%s",%d' % (name, len(pem))
                yield from self._must(cmd, 10000, pem)
        auth = 0
        if self.tls_files.get("cacert"):
            auth = 2 if self.tls_files.get("clientcert") else 1
        yield from self._must('AT+CSSLCFG="sslversion",0,4')
        yield from self._must('AT+CSSLCFG="authmode",0,%d' % auth)
        for kind, name in _FILES:
            if self.tls_files.get(kind):
                yield from self._must('AT+CSSLCFG="%s",0,"%s"' % (kind, name))
        yield from self._cmd('AT+CSSLCFG="enableSNI",0,1')
        yield from self._must("AT+CCHSSLCFG=0,0")
        self._setup_for = self.modem.bringups

    def _run(
        self, host: str, port: int, tls: bool, stale: "Generator[None, None, None] | None"
    ) -> "Generator[None, None, None]":
        if stale is not None:
            yield from stale
        while not self.modem.ready:
            yield  # poll() fails us if the modem is not ready; here: first turn
        if tls and self._setup_for != self.modem.bringups:
            yield from self._setup_tls()
        self._forget_open()  # a method: the URC handler sets it meanwhile
        self._linked = True
        if tls:
            cmd = 'AT+CCHOPEN=0,"%s",%d,2' % (host, port)
        else:
            cmd = 'AT+CIPOPEN=0,"TCP","%s",%d' % (host, port)
        req = yield from self._cmd(cmd, 10000)
        if req.state != OK:
            self._linked = False
            raise ConnectionFailedError("open failed (%d)" % req.cme)
        deadline = time.ticks_add(time.ticks_ms(), self.open_ms)
        while self._opened is None:
            if time.ticks_diff(time.ticks_ms(), deadline) > 0:
                raise ConnectionFailedError("open timed out")
            yield
        if self._opened != 0:
            self._linked = False
            raise ConnectionFailedError("open failed: error %d" % self._opened)
        self.state = OPEN
        self._last_read = time.ticks_ms()
        yield from self._pump(tls)

    def _pump(self, tls: bool) -> "Generator[None, None, None]":
        send = "AT+CCHSEND=0,%d" if tls else "AT+CIPSEND=0,%d"
        read = "AT+CCHRECV=0,%d" if tls else "AT+CIPRXGET=2,0,%d"
        while self.state == OPEN:
            if self._peer_closed:
                raise ConnectionFailedError(self._peer_closed)
            now = time.ticks_ms()
            idle = time.ticks_diff(now, self._last_read) >= self.idle_read_ms
            room = self.rx_max - len(self._rx)
            if (self._rx_pending or idle) and room >= self.chunk:
                self._last_read = now
                self._rx_pending = False
                # an ERROR here is "nothing to read" on some firmware; a dead link
                # announces itself with +IPCLOSE / +CCH_PEER_CLOSED instead
                yield from self._cmd(read % self.chunk, 5000)
            elif self._tx:
                n = min(len(self._tx), self.chunk)
                req = yield from self._cmd(send % n, 10000, None, bytes(self._tx[:n]))
                if req.state != OK:
                    raise ConnectionFailedError("send failed (%d)" % req.cme)
                self._tx = self._tx[n:]
                self.bytes_up += n
            else:
                yield


def _ignore(line: str) -> None:
    pass
