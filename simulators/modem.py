"""A SIMCom A7670 LTE modem, simulated: AT commands on a descriptor, real TCP/TLS behind.

This is the bridge of issue 8: the firmware on the WebAssembly port has no
sockets, so its modem code (firmware.at / modem / net_modem) talks AT commands
over the shim UART to this simulator, which opens real connections to loopback
hosts (a Mosquitto of the tests) for ``AT+CIPOPEN`` / ``AT+CCHOPEN``
(simulators.modem_links). The descriptor is one end of a socket pair or a
pty's master (``myenergy-sim modem`` makes a pty).

What it answers, in the formats of the A76XX Series AT Command Manual V1.11
(see the firmware modules' docstrings for each exchange): ``AT``, ``ATE0/1``,
``AT+CMEE``, ``AT+CPIN?``, ``AT+CGSN``, ``AT+CICCID``, ``AT+CGDCONT``,
``AT+CTZU``, ``AT+CEREG/CGREG/CREG`` (set and query, URCs with n=1),
``AT+CSQ``, ``AT+CPSI?``, ``AT+NETOPEN(?)``, ``AT+NETCLOSE``, ``AT+CIPRXGET``,
``AT+CIPOPEN``, ``AT+CIPSEND``, ``AT+CIPCLOSE``, ``AT+CCHSET``, ``AT+CCHSTART``,
``AT+CCHSTOP``, ``AT+CCERTDOWN``, ``AT+CSSLCFG``, ``AT+CCHSSLCFG``,
``AT+CCHOPEN``, ``AT+CCHSEND``, ``AT+CCHRECV``, ``AT+CCHCLOSE``, ``AT+CCLK?``,
``AT+CNTP``, ``AT+CRESET``, ``AT+CPOF``; anything else is ``ERROR``.

The simulated world's UTC is the host's plus ``utc_offset_s``, so a test can
tell a time that came through the modem from the host's own. ``AT+CCLK?``
shows the modem's RTC: the network's time (NITZ, ``nitz=True``) from
registration on, NTP's after a good ``AT+CNTP``, else the A7670's default
``80/01/06,00:00:00`` plus uptime.

Controls for tests (thread-safe): :meth:`lose_coverage` (CEREG 2, CSQ 99, the
data network and every link close with their URCs, opens and NTP fail),
:meth:`restore_coverage`, :meth:`set_csq`, :meth:`remove_sim` /
:meth:`insert_sim`, :meth:`power_off` (no answer until the power key starts
it), :meth:`hang` (on but mute: only a long key press and a new start help).
The power key is a second descriptor (``pwrkey_fd``) carrying the pin level as
bytes ``b"1"`` / ``b"0"``: released after >= ``on_pulse_s`` it starts a modem
that is off; held >= ``off_pulse_s`` it turns a running one off.
"""

from __future__ import annotations

import os
import select
import tempfile
import threading
import time
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from simulators.modem_links import (
    EVENT_CLOSED,
    EVENT_DATA,
    EVENT_OPENED,
    Link,
    TlsSettings,
    is_loopback,
)

__all__ = ["ModemSettings", "ModemSimulator"]

MAX_DATA = 1500  # the largest CIPSEND/CCHSEND the A7670 accepts per command
MAX_CERT = 10240


@dataclass
class ModemSettings:
    """The modem's identity and its world (all changeable before start)."""

    imei: str = "866123045678901"
    iccid: str = "8935901990012345678F"
    csq: int = 20  # -73 dBm
    roaming: bool = False
    utc_offset_s: float = 0.0
    tz_quarters: int = 8  # +02:00, Sofia in winter
    nitz: bool = True
    ntp_ok: bool = True
    boot_s: float = 0.3  # power key to RDY
    register_s: float = 0.2  # RDY to registered
    netopen_s: float = 0.05
    ntp_s: float = 0.1
    on_pulse_s: float = 0.05
    off_pulse_s: float = 2.5


def _csv(text: str) -> list[str]:
    """Comma fields, quotes removed (no commas inside quotes in what we parse)."""
    out: list[str] = []
    cur = ""
    quoted = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        elif ch == "," and not quoted:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    out.append(cur.strip())
    return out


class ModemSimulator:
    """Answer AT commands on ``fd`` until :meth:`stop`."""

    def __init__(
        self,
        fd: int,
        settings: ModemSettings | None = None,
        *,
        pwrkey_fd: int | None = None,
        powered: bool = True,
    ) -> None:
        self.fd = fd
        self.settings = settings or ModemSettings()
        self.pwrkey_fd = pwrkey_fd
        self._lock = threading.RLock()
        self._wlock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="modem-sim", daemon=True)
        self._keys = tempfile.TemporaryDirectory(prefix="modem-sim-")
        self.commands: list[str] = []  # every command line received (never the data)
        self.opens: list[tuple[str, int, bool]] = []  # every open request, in order
        self.refused: list[str] = []  # hosts refused as not loopback
        self.power_ons = 0
        self.coverage = True
        self.sim_present = True
        self.hung = False
        self.powered = False
        self._boot_at = 0.0
        self._booting: threading.Timer | None = None
        self._line = bytearray()
        self._raw_need = 0
        self._raw = bytearray()
        self._raw_done: tuple[str, int] | None = None  # (kind, number) of a data send
        self._key_down: float | None = None
        self._cert_name = ""
        self._reset_state()
        if powered:
            self._power_on_now(announce=False)

    # -- lifecycle ---------------------------------------------------------------

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        with self._lock:
            self._close_links()
            if self._booting is not None:
                self._booting.cancel()
        self._keys.cleanup()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _reset_state(self) -> None:
        self.echo = True
        self.cmee = 0
        self.reg_urc = {"CEREG": 0, "CGREG": 0, "CREG": 0}
        self.apn = ""
        self.net_open = False
        self.rx_manual = False
        self.cch_started = False
        self.cch_manual = False
        self.tls = TlsSettings()
        self.tcp: dict[int, Link] = {}
        self.cch: dict[int, Link] = {}
        self._rtc: tuple[float, float] | None = None  # (modem UTC, monotonic) when set

    # -- controls (any thread) -------------------------------------------------------

    def lose_coverage(self) -> None:
        with self._lock:
            self.coverage = False
            if not self.powered or self.hung:
                return
            self._reg_urc()
            had_net = self.net_open
            self.net_open = False
            for n, link in list(self.tcp.items()):
                link.close()
                self._urc(f"+IPCLOSE: {n},2")
            for n, link in list(self.cch.items()):
                link.close()
                self._urc(f"+CCH_PEER_CLOSED: {n}")
            self.tcp.clear()
            self.cch.clear()
            if had_net:
                self._urc("+CIPEVENT: NETWORK CLOSED UNEXPECTEDLY")

    def restore_coverage(self) -> None:
        with self._lock:
            self.coverage = True
            if self.powered and not self.hung:
                self._reg_urc()
                self._nitz()

    def set_csq(self, csq: int) -> None:
        """Signal as the ``+CSQ`` index (0..31, dBm = -113 + 2 csq)."""
        with self._lock:
            self.settings.csq = csq

    def remove_sim(self) -> None:
        with self._lock:
            self.sim_present = False
            if self.powered and not self.hung:
                self._urc("+CPIN: SIM REMOVED")

    def insert_sim(self) -> None:
        with self._lock:
            self.sim_present = True

    def power_off(self) -> None:
        with self._lock:
            self._power_off_now()

    def power_on(self) -> None:
        """As a key press would (RDY after ``boot_s``)."""
        with self._lock:
            self._boot()

    def hang(self) -> None:
        with self._lock:
            self.hung = True

    def press_key(self, seconds: float) -> None:
        """A key press of ``seconds`` (as the pin would do)."""
        with self._lock:
            self._key(seconds)

    # -- power ----------------------------------------------------------------------

    def _power_on_now(self, *, announce: bool) -> None:
        self._reset_state()
        self.powered = True
        self.hung = False
        self.power_ons += 1
        self._boot_at = time.monotonic()
        self._line.clear()
        self._raw_need = 0
        if announce:
            self._urc("RDY")
            if self.sim_present:
                self._urc("+CPIN: READY")
                self._urc("SMS DONE")
                self._urc("PB DONE")
        if self.settings.nitz and self.coverage:
            delay = threading.Timer(self.settings.register_s, self._nitz_locked)
            delay.daemon = True
            delay.start()

    def _boot(self) -> None:
        if self.powered or self._booting is not None:
            return

        def done() -> None:
            with self._lock:
                self._booting = None
                if not self._stop.is_set():
                    self._power_on_now(announce=True)

        self._booting = threading.Timer(self.settings.boot_s, done)
        self._booting.daemon = True
        self._booting.start()

    def _power_off_now(self) -> None:
        if self.powered and not self.hung:
            self._urc("NORMAL POWER DOWN")
        self._close_links()
        self.powered = False
        self.hung = False

    def _close_links(self) -> None:
        for link in [*self.tcp.values(), *self.cch.values()]:
            link.close()
        self.tcp.clear()
        self.cch.clear()
        self.net_open = False

    def _key(self, held: float) -> None:
        if not self.powered and held >= self.settings.on_pulse_s:
            self._boot()
        elif self.powered and held >= self.settings.off_pulse_s:
            self._power_off_now()

    # -- clock ------------------------------------------------------------------------

    def world_utc(self) -> float:
        return time.time() + self.settings.utc_offset_s

    def _nitz_locked(self) -> None:
        with self._lock:
            self._nitz()

    def _nitz(self) -> None:
        if self.settings.nitz and self.coverage and self.powered:
            self._rtc = (self.world_utc(), time.monotonic())

    def modem_utc(self) -> float:
        """What the modem's RTC says (UTC)."""
        if self._rtc is None:
            # 1980-01-06 (the A7670's default) plus uptime
            return 315964800 + (time.monotonic() - self._boot_at)
        utc, at = self._rtc
        return utc + (time.monotonic() - at)

    def _cclk(self) -> str:
        tz = self.settings.tz_quarters if self._rtc is not None else 0
        local = time.gmtime(int(self.modem_utc()) + tz * 900)
        sign = "+" if tz >= 0 else "-"
        stamp = time.strftime("%y/%m/%d,%H:%M:%S", local)
        return f'+CCLK: "{stamp}{sign}{abs(tz):02d}"'

    # -- output -------------------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        with self._wlock:
            view = memoryview(data)
            while view:
                try:
                    n = os.write(self.fd, view)
                except BlockingIOError:
                    select.select([], [self.fd], [], 0.1)
                    continue
                except OSError:
                    return  # the firmware side is gone
                view = view[n:]

    def _reply(self, *lines: str) -> None:
        self._write(b"".join(b"\r\n" + line.encode() + b"\r\n" for line in lines))

    def _urc(self, line: str) -> None:
        if self.powered and not self.hung:
            self._reply(line)

    def _ok(self, *lines: str) -> None:
        self._reply(*lines, "OK")

    def _error(self, cme: int = 100) -> None:
        self._reply(f"+CME ERROR: {cme}" if self.cmee else "ERROR")

    # -- registration ----------------------------------------------------------------------

    def stat(self) -> int:
        """The registration status (1 home, 5 roaming, 2 searching)."""
        if not (self.coverage and self.sim_present and self.powered):
            return 2 if self.sim_present else 0
        if time.monotonic() - self._boot_at < self.settings.register_s:
            return 2
        return 5 if self.settings.roaming else 1

    def _reg_urc(self) -> None:
        for name, n in self.reg_urc.items():
            if n:
                self._urc(f"+{name}: {self.stat()}")

    # -- input ----------------------------------------------------------------------------

    def _run(self) -> None:
        watch = [self.fd] + ([self.pwrkey_fd] if self.pwrkey_fd is not None else [])
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select(watch, [], [], 0.05)
            except (OSError, ValueError):
                return
            for fd in ready:
                try:
                    data = os.read(fd, 4096)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if not data:
                    if fd == self.fd:
                        return  # the firmware side closed
                    watch.remove(fd)
                    continue
                with self._lock:
                    if fd == self.fd:
                        self._feed(data)
                    else:
                        self._pwrkey(data)

    def _pwrkey(self, data: bytes) -> None:
        for level in data:
            if level == ord("1") and self._key_down is None:
                self._key_down = time.monotonic()
            elif level == ord("0") and self._key_down is not None:
                held = time.monotonic() - self._key_down
                self._key_down = None
                self._key(held)

    def _feed(self, data: bytes) -> None:
        if not self.powered or self.hung:
            return  # an unpowered UART hears nothing
        i = 0
        while i < len(data):
            if self._raw_need:
                take = data[i : i + self._raw_need]
                self._raw += take
                self._raw_need -= len(take)
                i += len(take)
                if not self._raw_need:
                    self._raw_complete()
                continue
            ch = data[i]
            i += 1
            if ch == 13:
                line = self._line.decode(errors="replace").strip()
                self._line.clear()
                if self.echo:
                    self._write(line.encode() + b"\r")
                if line:
                    self._command(line)
            elif ch != 10:
                self._line.append(ch)

    def _expect_raw(self, n: int, kind: str, number: int) -> None:
        self._raw_need = n
        self._raw = bytearray()
        self._raw_done = (kind, number)
        self._write(b"\r\n>")

    def _raw_complete(self) -> None:
        assert self._raw_done is not None
        kind, number = self._raw_done
        data = bytes(self._raw)
        self._raw = bytearray()
        if kind == "cert":
            self.tls.files[self._cert_name] = data
            self._ok()
            return
        links = self.tcp if kind == "tcp" else self.cch
        link = links.get(number)
        if link is None or not link.send(data):
            self._error(0)
            return
        if kind == "tcp":
            self._ok()
            self._urc(f"+CIPSEND: {number},{len(data)},{len(data)}")
        else:
            self._ok()
            self._urc(f"+CCHSEND: {number},0")

    # -- commands ---------------------------------------------------------------------------

    def _command(self, line: str) -> None:
        self.commands.append(line)
        upper = line.upper()
        if upper == "AT":
            self._ok()
        elif upper in ("ATE0", "ATE1"):
            self.echo = upper == "ATE1"
            self._ok()
        elif upper.startswith("AT+"):
            name, sep, rest = line[3:].partition("=")
            if not sep:
                name, rest = line[3:], ""
            self._plus(name.upper(), rest, bool(sep))
        else:
            self._error()

    def _plus(self, name: str, arg: str, assign: bool) -> None:
        args = _csv(arg) if assign else []
        handler = getattr(self, "_at_" + name.rstrip("?").replace("+", ""), None)
        if handler is None:
            self._error()
            return
        handler(name.endswith("?"), args)

    def _int(self, args: list[str], i: int, default: int = 0) -> int:
        try:
            return int(args[i])
        except (IndexError, ValueError):
            return default

    def _at_CMEE(self, query: bool, args: list[str]) -> None:  # noqa: N802
        self.cmee = self._int(args, 0)
        self._ok()

    def _at_CPIN(self, query: bool, args: list[str]) -> None:  # noqa: N802
        if self.sim_present:
            self._ok("+CPIN: READY")
        else:
            self._error(10)

    def _at_CGSN(self, query: bool, args: list[str]) -> None:  # noqa: N802
        self._ok(self.settings.imei)

    def _at_CICCID(self, query: bool, args: list[str]) -> None:  # noqa: N802
        if self.sim_present:
            self._ok(f"+ICCID: {self.settings.iccid}")
        else:
            self._error(10)

    def _at_CGDCONT(self, query: bool, args: list[str]) -> None:  # noqa: N802
        if len(args) >= 3:
            self.apn = args[2]
        self._ok()

    def _at_CTZU(self, query: bool, args: list[str]) -> None:  # noqa: N802
        self._ok()

    def _reg(self, name: str, query: bool, args: list[str]) -> None:
        if query:
            self._ok(f"+{name}: {self.reg_urc[name]},{self.stat()}")
        else:
            self.reg_urc[name] = self._int(args, 0)
            self._ok()

    def _at_CEREG(self, query: bool, args: list[str]) -> None:  # noqa: N802
        self._reg("CEREG", query, args)

    def _at_CGREG(self, query: bool, args: list[str]) -> None:  # noqa: N802
        self._reg("CGREG", query, args)

    def _at_CREG(self, query: bool, args: list[str]) -> None:  # noqa: N802
        self._reg("CREG", query, args)

    def _at_CSQ(self, query: bool, args: list[str]) -> None:  # noqa: N802
        csq = self.settings.csq if self.stat() in (1, 5) else 99
        self._ok(f"+CSQ: {csq},99")

    def _at_CPSI(self, query: bool, args: list[str]) -> None:  # noqa: N802
        if self.stat() not in (1, 5):
            self._ok("+CPSI: NO SERVICE,Online")
            return
        rssi = -113 + 2 * self.settings.csq
        rsrp = (rssi - 25) * 10  # RSRP is a per-subcarrier power: ~25 dB under RSSI
        cell = "LTE,Online,284-01,0x1A2B,13455112,301,EUTRAN-BAND20,6300,5,5"
        self._ok(f"+CPSI: {cell},-94,{rsrp},{rssi * 10},12")

    def _at_CIPRXGET(self, query: bool, args: list[str]) -> None:  # noqa: N802
        mode = self._int(args, 0, -1)
        if mode in (0, 1):
            self.rx_manual = mode == 1
            self._ok()
            return
        link = self.tcp.get(self._int(args, 1, -1))
        if mode != 2 or link is None:
            self._error(0)
            return
        data, rest = link.take(min(self._int(args, 2, 1500), MAX_DATA))
        self._write(f"\r\n+CIPRXGET: 2,{link.number},{len(data)},{rest}\r\n".encode() + data)
        self._ok()

    def _at_NETOPEN(self, query: bool, args: list[str]) -> None:  # noqa: N802
        if query:
            self._ok(f"+NETOPEN: {1 if self.net_open else 0}")
            return
        if self.net_open:
            self._reply("+IP ERROR: Network is already opened")
            self._error(0)
            return
        self._ok()

        def opened() -> None:
            with self._lock:
                ok = self.stat() in (1, 5) and self.powered
                self.net_open = ok
                self._urc(f"+NETOPEN: {0 if ok else 1}")

        timer = threading.Timer(self.settings.netopen_s, opened)
        timer.daemon = True
        timer.start()

    def _at_NETCLOSE(self, query: bool, args: list[str]) -> None:  # noqa: N802
        self._close_links()
        self._ok()
        self._urc("+NETCLOSE: 0")

    def _open(self, kind: str, number: int, host: str, port: int) -> None:
        tls = kind == "cch"
        self.opens.append((host, port, tls))
        links = self.cch if tls else self.tcp
        prefix = "+CCHOPEN" if tls else "+CIPOPEN"
        if number in links:
            self._error(0)
            return
        self._ok()
        if not self.net_open or self.stat() not in (1, 5):
            self._urc(f"{prefix}: {number},{17 if tls else 2}")  # network not opened
            return
        if not is_loopback(host):
            self.refused.append(host)
            self._urc(f"{prefix}: {number},{13 if tls else 10}")
            return
        settings = self.tls if tls else None
        link = Link(
            number, host, port, settings, on_event=self._link_event, key_dir=self._keys.name
        )
        links[number] = link
        link.start()

    def _link_event(self, link: Link, event: str, value: int) -> None:
        with self._lock:
            tls = link.tls is not None
            links = self.cch if tls else self.tcp
            if links.get(link.number) is not link:
                return  # closed meanwhile
            if event == EVENT_OPENED:
                self._urc(f"{'+CCHOPEN' if tls else '+CIPOPEN'}: {link.number},{value}")
                if value:
                    del links[link.number]
            elif event == EVENT_DATA:
                if tls:
                    self._urc(f"+CCHEVENT: {link.number},RECV EVENT")
                elif self.rx_manual:
                    self._urc(f"+CIPRXGET: 1,{link.number}")
            elif event == EVENT_CLOSED and not link.close_reported:
                link.close_reported = True
                del links[link.number]
                link.close()
                if tls:
                    self._urc(f"+CCH_PEER_CLOSED: {link.number}")
                else:
                    self._urc(f"+IPCLOSE: {link.number},1")

    def _at_CIPOPEN(self, query: bool, args: list[str]) -> None:  # noqa: N802
        if len(args) < 4 or args[1].upper() != "TCP":
            self._error(0)
            return
        self._open("tcp", self._int(args, 0), args[2], self._int(args, 3))

    def _data_send(self, kind: str, args: list[str]) -> None:
        links = self.tcp if kind == "tcp" else self.cch
        number = self._int(args, 0, -1)
        size = self._int(args, 1, 0)
        link = links.get(number)
        if link is None or not link.open or not 0 < size <= MAX_DATA:
            self._error(0)
            return
        self._expect_raw(size, kind, number)

    def _at_CIPSEND(self, query: bool, args: list[str]) -> None:  # noqa: N802
        self._data_send("tcp", args)

    def _at_CIPCLOSE(self, query: bool, args: list[str]) -> None:  # noqa: N802
        number = self._int(args, 0, -1)
        link = self.tcp.pop(number, None)
        if link is None:
            self._error(0)
            return
        link.close()
        self._ok()
        self._urc(f"+CIPCLOSE: {number},0")

    def _at_CCHSET(self, query: bool, args: list[str]) -> None:  # noqa: N802
        self.cch_manual = self._int(args, 1) == 1
        self._ok()

    def _at_CCHSTART(self, query: bool, args: list[str]) -> None:  # noqa: N802
        if self.cch_started:
            self._error(0)
            return
        self.cch_started = True
        self._ok()
        self._urc("+CCHSTART: 0")

    def _at_CCHSTOP(self, query: bool, args: list[str]) -> None:  # noqa: N802
        for link in self.cch.values():
            link.close()
        self.cch.clear()
        self.cch_started = False
        self._ok()
        self._urc("+CCHSTOP: 0")

    def _at_CCERTDOWN(self, query: bool, args: list[str]) -> None:  # noqa: N802
        size = self._int(args, 1, 0)
        if len(args) < 2 or not 0 < size <= MAX_CERT:
            self._error(0)
            return
        self._cert_name = args[0]
        self._expect_raw(size, "cert", 0)

    def _at_CSSLCFG(self, query: bool, args: list[str]) -> None:  # noqa: N802
        if len(args) < 3:
            self._error(0)
            return
        key, value = args[0].lower(), args[2]
        if key == "authmode":
            self.tls.authmode = self._int(args, 2)
        elif key in ("cacert", "clientcert", "clientkey"):
            setattr(self.tls, key, value)
        elif key == "enablesni":
            self.tls.sni = value == "1"
        self._ok()

    def _at_CCHSSLCFG(self, query: bool, args: list[str]) -> None:  # noqa: N802
        self._ok()

    def _at_CCHOPEN(self, query: bool, args: list[str]) -> None:  # noqa: N802
        if not self.cch_started or len(args) < 3:
            self._error(0)
            return
        self._open("cch", self._int(args, 0), args[1], self._int(args, 2))

    def _at_CCHSEND(self, query: bool, args: list[str]) -> None:  # noqa: N802
        self._data_send("cch", args)

    def _at_CCHRECV(self, query: bool, args: list[str]) -> None:  # noqa: N802
        number = self._int(args, 0, -1)
        link = self.cch.get(number)
        if link is None:
            self._error(0)
            return
        data, _rest = link.take(min(self._int(args, 1, 1500), MAX_DATA))
        out = b""
        if data:
            out = f"\r\n+CCHRECV: DATA,{number},{len(data)}\r\n".encode() + data
        self._write(out + f"\r\n+CCHRECV: {number},0\r\n".encode())
        self._ok()

    def _at_CCHCLOSE(self, query: bool, args: list[str]) -> None:  # noqa: N802
        number = self._int(args, 0, -1)
        link = self.cch.pop(number, None)
        if link is None:
            self._error(0)
            return
        link.close()
        self._ok()
        self._urc(f"+CCHCLOSE: {number},0")

    def _at_CCLK(self, query: bool, args: list[str]) -> None:  # noqa: N802
        self._ok(self._cclk())

    def _at_CNTP(self, query: bool, args: list[str]) -> None:  # noqa: N802
        if args:
            self._ok()  # server and time zone: stored by a real modem, not needed here
            return
        self._ok()

        def answer() -> None:
            with self._lock:
                if not self.powered:
                    return
                ok = self.settings.ntp_ok and self.net_open and self.stat() in (1, 5)
                if ok:
                    self._rtc = (self.world_utc(), time.monotonic())
                self._urc(f"+CNTP: {0 if ok else 4}")

        timer = threading.Timer(self.settings.ntp_s, answer)
        timer.daemon = True
        timer.start()

    def _at_CRESET(self, query: bool, args: list[str]) -> None:  # noqa: N802
        self._ok()
        self._power_off_now()
        self._boot()

    def _at_CPOF(self, query: bool, args: list[str]) -> None:  # noqa: N802
        self._ok()
        self._power_off_now()
