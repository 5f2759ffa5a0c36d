"""LTE modem bring-up and supervision (SIMCom A7670 / SIM7600) over AT commands.

``Modem.step(now_ms)`` runs a non-blocking state machine (a generator that
yields while it waits on the modem, so one ``step`` is one short slice):

=============  ===============================================================
state          what happens (command -> answer, A76XX AT Command Manual V1.11)
=============  ===============================================================
``sync``       ``AT`` -> ``OK``, up to ``sync_tries`` times (500 ms each). No
               answer and a power-key pin configured: ``power_on``.
``power_on``   key pressed ``pwrkey_on_ms`` (A7670 datasheet: >= 50 ms starts
               it), then ``boot``: wait for the ``RDY`` URC or an ``AT`` answer
               for up to ``boot_ms``.
``config``     ``ATE0`` (no echo), ``AT+CMEE=1`` (numeric ``+CME ERROR: <n>``).
``sim``        ``AT+CPIN?`` -> ``+CPIN: READY``; ``+CME ERROR: 10`` is "SIM not
               inserted" (``sim_missing``).
``ident``      ``AT+CGSN`` -> ``<15-digit IMEI>``; ``AT+CICCID`` ->
               ``+ICCID: <ICCID>``.
``apn``        ``AT+CGDCONT=1,"IP","<apn>"``; ``AT+CTZU=1`` (set the modem clock
               from network time, NITZ); ``AT+CEREG=1`` (URC ``+CEREG: <stat>``
               on every change); ``AT+CIPRXGET=1`` (TCP data waits in the modem
               until read, announced by ``+CIPRXGET: 1,<link>``: net_modem).
``register``   ``AT+CEREG?`` -> ``+CEREG: <n>,<stat>`` every 2 s, until stat 1
               (home) or 5 (roaming); when LTE is not registered, ``AT+CGREG?``
               and ``AT+CREG?`` (same format) for a 2G/3G fallback (SIM7600).
               stat 0 not searching, 2 searching, 3 denied, 4 unknown.
               ``register_ms`` without success is a failure.
``signal``     ``AT+CSQ`` -> ``+CSQ: <rssi>,<ber>``, RSSI dBm = -113 + 2 rssi
               (0..31; 99 unknown); ``AT+CPSI?`` -> ``+CPSI: LTE,Online,
               <mcc>-<mnc>,<tac>,<cellid>,<pcid>,<band>,<earfcn>,<dlbw>,<ulbw>,
               <rsrq>,<rsrp>,<rssi>,<rssnr>`` (RSRQ/RSRP/RSSI in 0.1 dB units;
               SIM7600 manual "AT+CPSI"); optional, a failure is ignored.
``net_open``   ``AT+NETOPEN?`` -> ``+NETOPEN: 1`` if already open; else
               ``AT+NETOPEN`` -> ``OK`` then URC ``+NETOPEN: <err>`` (0 = ok),
               within ``netopen_ms``.
``ready``      ``ready`` is True: the TCP/TLS stack can be used. Every
               ``poll_ms``: registration and signal again. Every
               ``ntp_every_ms`` (and at once the first time) the clock:
               ``AT+CNTP="<server>",0`` + ``AT+CNTP`` -> ``OK`` then URC
               ``+CNTP: <err>`` (0 = synchronised), then ``AT+CCLK?`` ->
               ``+CCLK: "yy/MM/dd,hh:mm:ss±zz"`` (local time, zz in quarter
               hours): anchors :class:`firmware.clock.Clock` as ``ntp`` after a
               good CNTP, else as ``modem`` (network time, ESTIMATED).
``backoff``    a step failed (``error`` says which): wait (firmware.backoff),
               then start again at ``sync``. ``cycle_after`` failed bring-ups in
               a row: ``power_cycle``.
``power_cycle`` key pressed ``pwrkey_off_ms`` (>= 2.5 s turns a running A7670
               off), ``off_wait_ms`` pause; the next ``sync`` then finds it off
               and presses the key again to start it. Without a pin:
               ``AT+CRESET`` (works only if the modem still answers).
=============  ===============================================================

URCs handled at any time: ``RDY`` (the modem restarted by itself: bring-up
again), ``+CPIN: <not READY>`` (SIM removed), ``+CEREG: <stat>`` (coverage lost
-> not ready, bring-up from ``sync``), ``+CIPEVENT: NETWORK CLOSED
UNEXPECTEDLY`` (the data connection dropped).

The AT channel (``modem.at``) is shared with firmware.net_modem: that one sends
its commands only while ``ready`` and whenever the channel is free.
"""

import time

try:
    from typing import Any, Generator
except ImportError:
    pass

from firmware.at import TIMEOUT, AtChannel, Request, fields, unquote
from firmware.backoff import Backoff
from firmware.clock import SOURCE_MODEM, SOURCE_NTP, utc_from_civil
from firmware.log import log


class BringupError(Exception):
    """A bring-up step failed; the message says which."""


def csq_to_dbm(rssi: int) -> "int | None":
    """``+CSQ`` RSSI index to dBm (None for 99, unknown)."""
    if 0 <= rssi <= 31:
        return -113 + 2 * rssi
    return None


def parse_cclk(text: str) -> "int | None":
    """``"26/11/23,03:39:06+08"`` (quotes optional) -> UTC seconds, or None."""
    text = unquote(text.strip())
    try:
        date, tod = text.split(",")
        yy, mo, dd = [int(x) for x in date.split("/")]
        sign = 1
        cut = tod.find("+")
        if cut < 0:
            cut = tod.find("-")
            sign = -1
        quarters = int(tod[cut + 1 :]) * sign if cut >= 0 else 0
        hh, mi, ss = [int(x) for x in (tod[:cut] if cut >= 0 else tod).split(":")]
    except (ValueError, IndexError):
        return None
    year = 1900 + yy if yy >= 70 else 2000 + yy  # 70..99: a modem's default date
    return utc_from_civil(year, mo, dd, hh * 3600 + mi * 60 + ss) - quarters * 900


class Modem:
    """Bring-up, supervision and signal of the modem; see the module docstring."""

    def __init__(
        self,
        uart: "Any",
        apn: str = "",
        *,
        pwrkey: "Any" = None,
        clock: "Any" = None,
        ntp_server: str = "pool.ntp.org",
        backoff: "Any" = None,
        pwrkey_active: int = 1,
        pwrkey_on_ms: int = 500,
        pwrkey_off_ms: int = 3000,
        off_wait_ms: int = 5000,
        boot_ms: int = 20000,
        sync_tries: int = 3,
        register_ms: int = 180000,
        netopen_ms: int = 30000,
        poll_ms: int = 30000,
        ntp_every_ms: int = 3 * 3600 * 1000,
        ntp_retry_ms: int = 600000,
        cycle_after: int = 3,
    ) -> None:
        self.at = uart if isinstance(uart, AtChannel) else AtChannel(uart)
        self.apn = apn
        self.pwrkey = pwrkey
        self.clock = clock
        self.ntp_server = ntp_server
        self.backoff = backoff if backoff is not None else Backoff(2000, 120000, 600000)
        self.pwrkey_active = pwrkey_active
        self.pwrkey_on_ms = pwrkey_on_ms
        self.pwrkey_off_ms = pwrkey_off_ms
        self.off_wait_ms = off_wait_ms
        self.boot_ms = boot_ms
        self.sync_tries = sync_tries
        self.register_ms = register_ms
        self.netopen_ms = netopen_ms
        self.poll_ms = poll_ms
        self.ntp_every_ms = ntp_every_ms
        self.ntp_retry_ms = ntp_retry_ms
        self.cycle_after = cycle_after
        # public view (status message, tests)
        self.state = "sync"
        self.ready = False
        self.error = ""
        self.signal_dbm: "int | None" = None
        self.rsrp_dbm: "int | None" = None
        self.rsrq_db: "int | None" = None
        self.sinr_db: "int | None" = None
        self.registered = False
        self.roaming = False
        self.sim_missing = False
        self.imei = ""
        self.iccid = ""
        self.power_cycles = 0
        self.bringups = 0  # times ready was reached
        self.clock_source: "str | None" = None  # "ntp" / "modem" after the last clock read
        # internals
        self._now = time.ticks_ms()
        self._task: "Generator[None, None, None] | None" = None
        self._fails = 0  # failed bring-ups in a row
        self._cycle = False  # power-cycle before the next bring-up
        self._rdy = False
        self._sim_lost = False
        self._net_lost = False
        self._netopen: "int | None" = None  # +NETOPEN: <err> URC value
        self._cntp: "int | None" = None  # +CNTP: <err> URC value
        self._next_poll = 0
        self._next_ntp: "int | None" = None
        at = self.at
        at.on_urc("RDY", self._on_rdy)
        at.on_urc("+CPIN:", self._on_cpin)
        at.on_urc("+CEREG:", self._on_creg)
        at.on_urc("+CGREG:", self._on_creg)
        at.on_urc("+CREG:", self._on_creg)
        at.on_urc("+NETOPEN:", self._on_netopen)
        at.on_urc("+CIPEVENT:", self._on_cipevent)
        at.on_urc("+CNTP:", self._on_cntp)
        for quiet in ("SMS DONE", "PB DONE", "*ATREADY", "+CGEV:", "+CTZV:", "*PSUTTZ", "DST:"):
            at.on_urc(quiet, _ignore)

    # -- URC handlers ---------------------------------------------------------

    def _on_rdy(self, line: str) -> None:
        self._rdy = True

    def _on_cpin(self, line: str) -> None:
        if "READY" not in line:
            self._sim_lost = True

    def _on_creg(self, line: str) -> None:
        vals = fields(line[line.find(":") + 1 :])
        if vals and vals[0].isdigit():
            self._set_reg(int(vals[0]))  # with n=1 the URC's only field is <stat>

    def _on_netopen(self, line: str) -> None:
        v = line[line.find(":") + 1 :].strip()
        self._netopen = int(v) if v.isdigit() else 99

    def _on_cipevent(self, line: str) -> None:
        if "CLOSED" in line:
            self._net_lost = True

    def _on_cntp(self, line: str) -> None:
        v = line[line.find(":") + 1 :].strip()
        self._cntp = int(v) if v.isdigit() else 99

    def _forget_results(self) -> None:
        self._netopen = None
        self._cntp = None

    def _set_reg(self, stat: int) -> None:
        self.registered = stat in (1, 5)
        self.roaming = stat == 5

    # -- the loop ---------------------------------------------------------------

    def step(self, now_ms: "int | None" = None) -> None:
        """One slice of work; never blocks."""
        now = time.ticks_ms() if now_ms is None else now_ms
        self._now = now
        try:
            self.at.step(now)
            if self._task is None:
                if not self.backoff.ready(now):
                    return
                self._task = self._power_cycle() if self._cycle else self._run()
            next(self._task)
        except StopIteration:
            self._task = None
        except BringupError as exc:
            self._failed(str(exc))
        except Exception as exc:  # a modem's nonsense must not stop the main loop
            self._failed("internal: %r" % exc)

    def restart(self, why: str = "restart requested") -> None:
        """Drop the network and bring the modem up again (e.g. the uplink gave up)."""
        self._task = None
        self._failed(why)

    def _failed(self, why: str) -> None:
        was_ready = self.ready
        self.ready = False
        self._task = None
        if self.pwrkey is not None:
            self.pwrkey.value(1 - self.pwrkey_active)  # never leave the key pressed
        self.error = why
        self.state = "backoff"
        if was_ready:
            self._fails = 0
        self._fails += 1
        if self._fails >= self.cycle_after:
            self._fails = 0
            self._cycle = True
        delay = self.backoff.failed(self._now)
        log("modem.failed", why=why, retry_ms=delay, cycle=self._cycle)

    # -- small coroutines -----------------------------------------------------

    def _cmd(
        self,
        cmd: str,
        timeout_ms: int = 2000,
        expect: "str | None" = None,
        data: "bytes | None" = None,
    ) -> "Generator[None, None, Request]":
        return self.at.command(cmd, timeout_ms, expect, data)

    def _must(
        self, cmd: str, timeout_ms: int = 2000, expect: "str | None" = None
    ) -> "Generator[None, None, Request]":
        req = yield from self._cmd(cmd, timeout_ms, expect)
        if not req.ok:
            raise BringupError(
                "%s: %s" % (cmd, "timeout" if req.state == TIMEOUT else "error %d" % req.cme)
            )
        return req

    def _sleep(self, ms: int) -> "Generator[None, None, None]":
        until = time.ticks_add(self._now, ms)
        while time.ticks_diff(until, self._now) > 0:
            yield

    def _press(self, ms: int) -> "Generator[None, None, None]":
        self.pwrkey.value(self.pwrkey_active)
        yield from self._sleep(ms)
        self.pwrkey.value(1 - self.pwrkey_active)

    def _sync(self, tries: int) -> "Generator[None, None, bool]":
        for _ in range(tries):
            req = yield from self._cmd("AT", 500)
            if req.ok:
                return True
        return False

    # -- bring-up and supervision -----------------------------------------------

    def _run(self) -> "Generator[None, None, None]":
        self.state = "sync"
        self.ready = False
        self.at.abort()
        answered = yield from self._sync(self.sync_tries)
        if not answered:
            if self.pwrkey is None:
                raise BringupError("modem not answering")
            self.state = "power_on"
            self._rdy = False
            yield from self._press(self.pwrkey_on_ms)
            self.state = "boot"
            deadline = time.ticks_add(self._now, self.boot_ms)
            while not answered:
                if time.ticks_diff(self._now, deadline) > 0:
                    raise BringupError("modem not answering after power key")
                if self._rdy:
                    answered = yield from self._sync(2)
                else:
                    yield from self._sleep(1000)
                    answered = yield from self._sync(1)
        self.state = "config"
        yield from self._must("ATE0")
        yield from self._must("AT+CMEE=1")
        self.state = "sim"
        self._sim_lost = False
        req = yield from self._cmd("AT+CPIN?", 5000, "+CPIN:")
        if not req.ok or "READY" not in req.line():
            self.sim_missing = req.cme == 10 or "NOT INSERTED" in req.line()
            raise BringupError("SIM not ready" + (" (missing)" if self.sim_missing else ""))
        self.sim_missing = False
        self.state = "ident"
        req = yield from self._must("AT+CGSN")
        for line in req.lines:
            if line.isdigit() and len(line) >= 14:
                self.imei = line
        req = yield from self._cmd("AT+CICCID", 2000, "+ICCID:")
        if req.ok and req.lines:
            self.iccid = req.values()[0]
        self.state = "apn"
        yield from self._must('AT+CGDCONT=1,"IP","%s"' % self.apn)
        yield from self._cmd("AT+CTZU=1")  # optional: not every firmware has it
        yield from self._must("AT+CEREG=1")
        yield from self._must("AT+CIPRXGET=1")
        self.state = "register"
        deadline = time.ticks_add(self._now, self.register_ms)
        while True:
            yield from self._query_registration()
            if self.registered:
                break
            if time.ticks_diff(self._now, deadline) > 0:
                raise BringupError("not registered")
            yield from self._sleep(2000)
        self.state = "signal"
        yield from self._query_signal()
        self.state = "net_open"
        yield from self._net_open()
        self.state = "ready"
        self.ready = True
        self.error = ""
        self._fails = 0
        self._rdy = False
        self._net_lost = False
        self.bringups += 1
        self.backoff.up(self._now)
        self._next_poll = time.ticks_add(self._now, self.poll_ms)
        log("modem.ready", dbm=self.signal_dbm, roaming=self.roaming)
        yield from self._supervise()

    def _net_open(self) -> "Generator[None, None, None]":
        req = yield from self._cmd("AT+NETOPEN?", 3000, "+NETOPEN:")
        if req.ok and req.values()[0] == "1":
            return
        self._forget_results()  # a method: the URC handlers set them meanwhile
        req = yield from self._cmd("AT+NETOPEN", 5000)
        if not req.ok:
            raise BringupError("AT+NETOPEN: error %d" % req.cme)
        deadline = time.ticks_add(self._now, self.netopen_ms)
        while self._netopen is None:
            if time.ticks_diff(self._now, deadline) > 0:
                raise BringupError("network open timed out")
            yield
        if self._netopen != 0:
            raise BringupError("network open failed (%d)" % self._netopen)

    def _supervise(self) -> "Generator[None, None, None]":
        while True:
            if self._rdy:
                raise BringupError("modem restarted")
            if self._sim_lost:
                raise BringupError("SIM removed")
            if not self.registered:
                raise BringupError("coverage lost")
            if self._net_lost:
                raise BringupError("network closed")
            if self.clock is not None and (
                self._next_ntp is None or time.ticks_diff(self._now, self._next_ntp) >= 0
            ):
                yield from self._sync_clock()
            elif time.ticks_diff(self._now, self._next_poll) >= 0:
                self._next_poll = time.ticks_add(self._now, self.poll_ms)
                yield from self._query_registration()
                yield from self._query_signal()
            yield

    def _query_registration(self) -> "Generator[None, None, None]":
        stat = -1
        for cmd, prefix in (
            ("AT+CEREG?", "+CEREG:"),
            ("AT+CGREG?", "+CGREG:"),
            ("AT+CREG?", "+CREG:"),
        ):
            req = yield from self._cmd(cmd, 2000, prefix)
            if req.state == TIMEOUT:
                raise BringupError("modem not answering")
            vals = req.values() if req.ok and req.lines else []
            if len(vals) >= 2 and vals[1].isdigit():
                stat = int(vals[1])
                if stat in (1, 5):
                    break
        self._set_reg(stat)

    def _query_signal(self) -> "Generator[None, None, None]":
        req = yield from self._cmd("AT+CSQ", 2000, "+CSQ:")
        if req.ok and req.lines:
            v = req.values()[0]
            self.signal_dbm = csq_to_dbm(int(v)) if v.isdigit() else None
        req = yield from self._cmd("AT+CPSI?", 2000, "+CPSI:")
        vals = req.values() if req.ok and req.lines else []
        if len(vals) >= 14 and vals[0] == "LTE":
            try:
                self.rsrq_db = int(vals[10]) // 10
                self.rsrp_dbm = int(vals[11]) // 10
                self.sinr_db = int(vals[13])
            except ValueError:
                pass
        else:
            self.rsrp_dbm = self.rsrq_db = self.sinr_db = None

    def _sync_clock(self) -> "Generator[None, None, None]":
        self._next_ntp = time.ticks_add(self._now, self.ntp_retry_ms)
        self._forget_results()
        source = SOURCE_MODEM
        req = yield from self._cmd('AT+CNTP="%s",0' % self.ntp_server, 2000)
        if req.state == TIMEOUT:
            raise BringupError("modem not answering")
        if req.ok:
            req = yield from self._cmd("AT+CNTP", 5000)
            if req.ok:
                deadline = time.ticks_add(self._now, 15000)
                while self._cntp is None and time.ticks_diff(self._now, deadline) < 0:
                    yield
                if self._cntp == 0:
                    source = SOURCE_NTP
        req = yield from self._cmd("AT+CCLK?", 2000, "+CCLK:")
        if req.state == TIMEOUT:
            raise BringupError("modem not answering")
        if not (req.ok and req.lines):
            return
        utc = parse_cclk(req.line()[req.line().find(":") + 1 :])
        if utc is None:
            return
        self.clock_source = source
        if self.clock.anchor(utc, source, self._now) is not None and source == SOURCE_NTP:
            self._next_ntp = time.ticks_add(self._now, self.ntp_every_ms)
        log("modem.clock", source=source, utc=utc)

    def _power_cycle(self) -> "Generator[None, None, None]":
        self._cycle = False
        self.state = "power_cycle"
        self.ready = False
        self.power_cycles += 1
        log("modem.power_cycle", pin=self.pwrkey is not None)
        self.at.abort()
        if self.pwrkey is None:
            yield from self._cmd("AT+CRESET", 2000)
        else:
            yield from self._press(self.pwrkey_off_ms)
        yield from self._sleep(self.off_wait_ms)


def _ignore(line: str) -> None:
    pass
