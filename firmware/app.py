"""The firmware's main loop: meter -> minute records -> flash -> MQTT, one short turn at a time.

Nothing here waits. Each :meth:`App.step` (a few ms) feeds the watchdog, moves
the modem's bring-up on, moves a meter poll on, closes finished minutes into
the flash store, moves the MQTT uplink on and publishes the status when due,
so a stalled link never stops the polling and a hung component is caught by
the hardware watchdog rather than by a customer noticing a gap.

Time: records are stamped with :class:`firmware.clock.Clock` (UTC from the
modem's NTP, the modem's network time or the cloud's ``time`` command, with
the protocol's clock-quality flag). When the clock is anchored for the first
time after a stretch without real time, the minute in progress and the records
this run stored are moved by the step (``clock.take_anchor_step``), as the edge
agent does.

:func:`build` makes an App from the configuration and the board's hardware
(``machine``/``esp32``): main.py on the module, the same call under the test
shims on the WebAssembly port.
"""

import time

import esp32
import machine

from firmware import status as status_mod
from firmware.aggregate import MinuteAggregator
from firmware.clock import Clock
from firmware.commands import Commands
from firmware.live import Live
from firmware.log import log
from firmware.meter import MeterReader, serial_settings
from firmware.modem import Modem
from firmware.mqtt import MqttClient
from firmware.net_modem import ModemTransport
from firmware.rtu import RtuMaster
from firmware.store import Store
from firmware.uplink import Uplink

try:
    from typing import Any
except ImportError:
    pass

STATUS_CHECK_MS = 1000  # how often the status inputs are gathered (reading flash costs)


class App:
    """One communication module: see the module docstring."""

    def __init__(
        self,
        cfg: "Any",
        *,
        reader: "Any",
        store: "Any",
        transport: "Any",
        clock: "Any",
        modem: "Any" = None,
        wdt: "Any" = None,
    ) -> None:
        now = time.ticks_ms()
        self.cfg = cfg
        self.reader = reader
        self.store = store
        self.clock = clock
        self.modem = modem
        self.wdt = wdt
        self.device_id = cfg.get("device_id")
        self.poll_ms = int(cfg.get("meter.poll_s") * 1000)
        self.agg = MinuteAggregator(60000 // self.poll_ms, clock.quality)
        self.live = Live(self.device_id, cfg.get("live.sample_s"), cfg.get("live.max_minutes"))
        self.commands = Commands(cfg, clock, self.live, self._config_changed)
        username = cfg.get("mqtt.username") or self.device_id
        client = MqttClient(
            transport,
            self.device_id,
            keepalive_s=cfg.get("mqtt.keepalive_s"),
            username=username,
            password=cfg.get("mqtt.password") or None,
        )
        self.uplink = Uplink(
            client,
            store,
            self.device_id,
            batch_max=cfg.get("mqtt.batch_max"),
            upload_s=cfg.get("mqtt.upload_s"),
            now_fn=clock.now,
        )
        self.uplink.on_command = self._command
        self.uplink.status_fn = self._status_now
        self.reporter = status_mod.StatusReporter(cfg.get("status.interval_s"), now)
        self.idle_ms = cfg.get("loop_idle_ms")
        self.boot_seq = store.next_seq  # records from here on were stamped by this run
        self.turns = 0
        self.polls = 0
        self.records = 0
        self.store_errors = 0
        self._next_poll = now
        self._poll_ts = 0
        self._next_status_check = now
        self._uplink_started = False
        self.last_status = None  # type: dict[str, Any] | None

    # --- reactions ------------------------------------------------------------------

    def _config_changed(self, applied: "dict[str, Any]") -> None:
        if "poll_s" in applied:
            self.poll_ms = int(applied["poll_s"] * 1000)
            self.agg.set_expected_per_minute(60000 // self.poll_ms)
        if "upload_s" in applied:
            self.uplink.reconfigure(upload_s=applied["upload_s"])
        if "status_s" in applied:
            self.reporter.interval_ms = int(applied["status_s"] * 1000)
        if "live_sample_s" in applied:
            self.live.sample_ms = int(applied["live_sample_s"] * 1000)

    def _command(self, payload: bytes, cmd: "dict[str, Any] | None", problem: "str | None") -> None:
        self.commands.handle(cmd, problem, time.ticks_ms())
        self._next_status_check = time.ticks_ms()  # report the outcome promptly

    def _status_inputs(self, now_ms: int) -> "dict[str, Any]":
        oldest = None
        if self.store.depth():
            first = self.store.pending(1, exclude=self.uplink.in_flight_seqs())
            if first:
                oldest = first[0].ts
        live_s = self.live.remaining_s(now_ms)
        inputs = {
            "queue_depth": self.store.depth(),
            "oldest_unsent_ts": oldest,
            "records_dropped": self.store.dropped,
            "modbus_errors": self.reader.errors,
            "clock": self.clock.quality(),
            "live_until": self.clock.now() + live_s if live_s else None,
            "signal_dbm": self.modem.signal_dbm if self.modem is not None else None,
            "refused": self.cfg.ignored or None,
        }
        return inputs

    def _status_now(self) -> "dict[str, Any]":
        now = time.ticks_ms()
        status = self.reporter.force(self._status_inputs(now), self.clock.now(), now)
        return self._decorate(status)

    def _decorate(self, status: "dict[str, Any]") -> "dict[str, Any]":
        if self.commands.last is not None:
            status["last_cmd"] = self.commands.last
        if self.modem is not None:
            status["modem"] = self.modem.state
        if self.uplink.batches_refused:
            # the broker refused batches (ACL, quota) or nobody heard them: records kept
            status["batches_refused"] = self.uplink.batches_refused
        self.last_status = status  # what the cloud sees (or will, once connected): REPL, tests
        return status

    # --- the loop ---------------------------------------------------------------------

    def step(self) -> None:
        """One turn of the main loop (a few ms)."""
        now = time.ticks_ms()
        self.turns += 1
        if self.wdt is not None:
            self.wdt.feed()
        if self.modem is not None:
            self.modem.step(now)
        self._meter(now)
        self._reanchor()
        self._close_minutes()
        if not self._uplink_started and (self.modem is None or self.modem.ready):
            # Before the modem is up an attempt could only fail and grow the backoff.
            self.uplink.start(
                self.cfg.get("mqtt.host"), self.cfg.get("mqtt.port"), self.cfg.get("mqtt.tls")
            )
            self._uplink_started = True
        self.uplink.step(now)
        self._status(now)
        if not self.reader.busy:
            self.store.step()

    def _meter(self, now: int) -> None:
        if not self.reader.busy and time.ticks_diff(now, self._next_poll) >= 0:
            self._poll_ts = self.clock.now()  # a poll is stamped at its start, as the agent's
            self.reader.start_cycle()
            self._next_poll = time.ticks_add(now, self.reader.next_delay_ms(self.poll_ms))
        reading = self.reader.step(now)
        if reading is None:
            return
        self.polls += 1
        record = self.agg.add_reading(self._poll_ts, reading)
        if record is not None:
            self._store(record)
        if reading:
            payload = self.live.sample(reading, self._poll_ts * 1000, now)
            if payload is not None:
                self.uplink.publish_live(payload)

    def _reanchor(self) -> None:
        step = self.clock.take_anchor_step()
        if not step:
            return
        now = self.clock.now()
        self.agg.rebase(step, now)
        moved = self.store.reanchor(step, self.boot_seq)
        log("clock.reanchored", step_s=step, records=moved)

    def _close_minutes(self) -> None:
        record = self.agg.close_due(self.clock.now())
        if record is not None:
            self._store(record)

    def _store(self, record: "Any") -> None:
        try:
            self.store.append(record)
            self.records += 1
        except (ValueError, OSError) as exc:
            # A record the wire cannot carry, or a flash fault: counted, and the loop goes on.
            self.store_errors += 1
            log("store.append_failed", error=str(exc), ts=record.ts)

    def _status(self, now: int) -> None:
        if time.ticks_diff(now, self._next_status_check) < 0:
            return
        self._next_status_check = time.ticks_add(now, STATUS_CHECK_MS)
        status = self.reporter.due(self._status_inputs(now), self.clock.now(), now)
        if status is not None:
            self.uplink.publish_status(self._decorate(status))

    def run(self, turns: int = -1) -> None:
        """Loop forever (or ``turns`` times); sleeps ``loop_idle_ms`` between turns."""
        while turns != 0:
            self.step()
            turns -= 1
            time.sleep_ms(self.idle_ms)

    def shutdown(self) -> None:
        """Store the minute in progress (a planned restart); its sample count says it is partial."""
        record = self.agg.flush()
        if record is not None:
            self._store(record)


def build(cfg: "Any", transport: "Any" = None) -> App:
    """The App for this board from the configuration (``transport``: tests give their own)."""
    clock = Clock()
    baud, bits, parity, stop, bits_per_char = serial_settings(cfg.get("meter.model"))
    if cfg.get("meter.baudrate"):
        baud = cfg.get("meter.baudrate")
    uart = machine.UART(
        cfg.get("meter.uart"),
        baudrate=baud,
        bits=bits,
        parity=parity,
        stop=stop,
        tx=cfg.get("meter.tx"),
        rx=cfg.get("meter.rx"),
        timeout=0,
    )
    de = machine.Pin(cfg.get("meter.de"), machine.Pin.OUT, value=0)
    master = RtuMaster(
        uart, de, baudrate=baud, bits_per_char=bits_per_char, timeout_ms=cfg.get("meter.timeout_ms")
    )
    reader = MeterReader(master, cfg.get("meter.model"), cfg.get("meter.slave"))
    found = esp32.Partition.find(esp32.Partition.TYPE_DATA, label=cfg.get("store.partition"))
    if not found:
        raise OSError("no flash partition %r for the records" % cfg.get("store.partition"))
    store = Store(found[0])
    modem = None
    if transport is None:
        modem_uart = machine.UART(
            cfg.get("modem.uart"),
            baudrate=cfg.get("modem.baudrate"),
            tx=cfg.get("modem.tx"),
            rx=cfg.get("modem.rx"),
            timeout=0,
            rxbuf=4096,
            txbuf=2048,  # a 1 KB AT+CIPSEND must not wait for room in the driver
        )
        pin = cfg.get("modem.pwrkey")
        pwrkey = machine.Pin(pin, machine.Pin.OUT, value=0) if pin >= 0 else None
        modem = Modem(modem_uart, cfg.get("modem.apn"), pwrkey=pwrkey, clock=clock)
        ca_file = cfg.get("mqtt.ca_file")
        tls_files = None
        if ca_file:
            with open(ca_file) as f:
                tls_files = {"cacert": f.read()}  # uploaded to the modem for its TLS stack
        transport = ModemTransport(modem, tls_files)
    wdt = machine.WDT(timeout=cfg.get("watchdog_ms"))
    log(
        "boot",
        device=cfg.get("device_id"),
        model=cfg.get("meter.model"),
        next_seq=store.next_seq,
        depth=store.depth(),
        torn=store.stats["torn"],
    )
    return App(
        cfg, reader=reader, store=store, transport=transport, clock=clock, modem=modem, wdt=wdt
    )
