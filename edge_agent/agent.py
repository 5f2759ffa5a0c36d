"""The agent: wires poller, aggregator, queue, uplink, live mode and commands, and runs
the poll loop.

Threads and who owns what::

    poll thread (run)       poll -> aggregate -> queue.put -> uplink.notify ; live samples
    upload thread (uplink)  queue.pending -> publish ; PUBACK -> queue.ack ; status
    paho network thread     socket I/O, reconnects ; commands -> flip state only

The poll loop never waits for the network: ``queue.put`` is a local fsync, live
samples are handed to paho without waiting, and everything that waits on the
broker happens on the other two threads. A record is on disk before anything else
happens to it: it reaches the uplink only through the queue.

Start-up refuses, with the reason, what cannot work: an invalid configuration
(``edge_agent.config``) and a poll period the serial bus cannot carry
(``hardware.planner.check_poll_period``). Everything the meter or the network
does at run time is survived, counted and logged instead.

The clock is injected (``edge_agent.clock``): tests run the agent, and the
simulated meter, on an accelerated clock. When it learns the real time after
stamping without it, the poll loop re-anchors what this run stamped before: the
minute in progress (``MinuteAggregator.rebase``) and the queued records
(``RecordQueue.reanchor``), before the next poll is stamped.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import replace
from typing import Any

import structlog

from edge_agent import __version__
from edge_agent.aggregate import MinuteAggregator
from edge_agent.clock import Clock, SystemClock
from edge_agent.commands import CommandHandler, RuntimeSettings
from edge_agent.config import AgentConfig
from edge_agent.live import LivePublisher, LiveWindow
from edge_agent.modem import SignalReader
from edge_agent.poller import MeterPoller, make_client
from edge_agent.queue import QueueError, RecordQueue
from edge_agent.status import (
    STATE_OFFLINE,
    STATE_ONLINE,
    StatusInputs,
    StatusReporter,
    build_status,
    last_will,
)
from edge_agent.uplink import Uplink
from hardware.maps import load_map
from hardware.model import MeterMap, SerialSettings
from hardware.planner import Request, check_poll_period, plan_requests
from protocol.codec import Record

__all__ = ["Agent", "serial_settings"]

log = structlog.get_logger(__name__)

# Records that could not be stored (disk trouble) are retried from memory, up to
# this many; beyond it the oldest are lost, and logged as lost.
_UNSTORED_MAX = 240
# Pause of the poll loop after an unexpected error (agent seconds).
_AFTER_ERROR_S = 5.0
# Net growth of the queue while the uplink is down: one record a minute.
_OFFLINE_RECORD_RATE = 1.0 / 60.0


def serial_settings(config: AgentConfig) -> SerialSettings:
    """The line settings in force (the map's defaults, unless configured)."""
    m = config.meter
    return SerialSettings(m.baudrate, m.parity, m.bytesize, m.stopbits)


def check_bus(
    meter_map: MeterMap, requests: list[Request], config: AgentConfig, poll_s: float
) -> float:
    """Bus time of one poll; BusBudgetError (with the reason) if ``poll_s`` is too short.

    Over TCP there is no RS-485 line to budget (a gateway's own line is its business).
    """
    if config.meter.transport != "rtu":
        return 0.0
    return check_poll_period(meter_map, requests, serial_settings(config), poll_s)


class Agent:
    """One running agent. ``start()`` runs the poll loop in a thread; ``run()`` in the caller's."""

    def __init__(self, config: AgentConfig, clock: Clock | None = None) -> None:
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.settings = RuntimeSettings(config)
        self.device_id = config.device.id
        self.meter_map = load_map(config.meter.model)
        self.requests = plan_requests(self.meter_map)
        # Refuse a poll period the bus cannot meet before opening anything.
        self.bus_time_s = check_bus(self.meter_map, self.requests, config, config.meter.poll_s)
        self.queue = RecordQueue(
            config.store.path, int(config.store.max_bytes), config.store.coarsen_period_s
        )
        # This run's records start here: only they share the clock's unanchored base.
        self._since_seq = self.queue.next_seq
        self._anchor_step: float | None = None  # a clock step the queue has not taken yet
        client, watch = make_client(config.meter)
        self.poller = MeterPoller(
            self.meter_map,
            client,
            config.meter.slave_id,
            self.clock.now,
            retries=config.meter.retries,
            rx_watch=watch,
            requests=self.requests,
        )
        self.aggregator = MinuteAggregator(config.meter.expected_per_minute, self.clock.quality)
        self.live = LiveWindow(self.clock, config.live.max_minutes, config.live.default_minutes)
        self.reporter = StatusReporter(self.clock, config.status.interval_s)
        # Read on the upload thread when a status is built, cached: never in the poll loop.
        self.modem = SignalReader(config.modem)
        self.commands = CommandHandler(
            live=self.live, clock=self.clock, settings=self.settings, check_poll=self._check_poll
        )
        self.uplink = Uplink(
            config.mqtt,
            self.device_id,
            self.queue,
            self.clock,
            status_fn=self._status,
            last_will=last_will(),
            on_command=self.commands.handle,
        )
        self.live_publisher = LivePublisher(
            self.live, self.device_id, self.uplink.publish_live, config.live.sample_s
        )
        self.settings.on_change(self._apply_settings)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._unstored: deque[Record] = deque()
        self.records_stored = 0
        self.polls = 0

    # -- life cycle ------------------------------------------------------------------

    def start(self) -> None:
        """Run the agent in a background thread (tests, embedding)."""
        self._thread = threading.Thread(target=self.run, name="poll", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the loop (from any thread) and wait for the shutdown to finish."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        """The poll loop started by :meth:`start` is alive."""
        return self._thread is not None and self._thread.is_alive()

    def request_stop(self) -> None:
        """Ask the loop to end (signal handlers); ``run`` returns after shutting down."""
        self._stop.set()

    def run(self) -> None:
        """The poll loop; returns after a clean shutdown once stop is requested."""
        # Every line this thread logs names the device (contextvars are per thread:
        # several agents may share one process, as in myenergy-stack).
        structlog.contextvars.bind_contextvars(device=self.device_id)
        config = self.settings.current
        log.info(
            "agent starting",
            version=__version__,
            device=self.device_id,
            model=self.meter_map.model,
            transport=config.meter.transport,
            poll_s=config.meter.poll_s,
            bus_time_ms=round(self.bus_time_s * 1000, 1),
            queue_depth=self.queue.depth(),
            next_seq=self.queue.next_seq,
        )
        self.uplink.start()
        try:
            while not self._stop.is_set():
                try:
                    delay = self._poll_once()
                except Exception:  # a bug, not the meter (the poller absorbs the meter's
                    # faults): keep measuring and uploading rather than die on a module
                    # nobody can reach; the log has the traceback
                    log.exception("poll loop error")
                    delay = _AFTER_ERROR_S
                self.clock.wait(self._stop, delay)
        finally:
            self._shutdown()

    def _poll_once(self) -> float:
        """One poll and what follows from it; returns the agent seconds to the next."""
        poll_s = self.settings.current.meter.poll_s
        self._follow_clock_step()  # before this poll is stamped
        result = self.poller.poll()
        self.polls += 1
        self._store(self.aggregator.add(result.ts, result.values, result.counters))
        self.live_publisher.offer(result.ts, result.values)
        self._follow_clock_step()  # one during the poll, before close_due judges the minute
        now = self.clock.now()
        self._store(self.aggregator.close_due(now))
        delay = self.poller.next_delay(poll_s)
        if delay <= poll_s:
            # Stay on the poll_s grid, so minutes start and end on a poll.
            return (math.floor(now / poll_s) + 1) * poll_s - now
        return delay

    def _shutdown(self) -> None:
        # The partial minute is honest data (its sample count says how partial).
        self._store(self.aggregator.flush())
        self.uplink.stop()
        self.poller.close()
        self.queue.close()
        log.info("agent stopped", polls=self.polls, records_stored=self.records_stored)

    # -- the store, before anything else --------------------------------------------

    def _store(self, record: Record | None) -> None:
        if record is not None:
            self._unstored.append(record)
        while self._unstored:
            try:
                stored = self.queue.put(self._unstored[0])
            except ValueError as exc:
                # The codec cannot carry it (a bug upstream of the queue): storing it
                # would block the uplink for ever, retrying would block this loop.
                lost = self._unstored.popleft()
                log.error("record refused by the queue; dropped", ts=lost.ts, error=str(exc))
                continue
            except QueueError as exc:
                log.error(
                    "record not stored yet; will retry", error=str(exc), waiting=len(self._unstored)
                )
                while len(self._unstored) > _UNSTORED_MAX:
                    lost = self._unstored.popleft()
                    log.error("record lost: queue unwritable", ts=lost.ts)
                return
            self._unstored.popleft()
            self.records_stored += 1
            log.debug("record stored", seq=stored.seq, ts=stored.ts, samples=stored.samples)
            self.uplink.notify()

    def _follow_clock_step(self) -> None:
        """Re-anchor what this run stamped before the clock learnt the real time."""
        step = self.clock.take_anchor_step()
        if step is not None:
            self.aggregator.rebase(step, self.clock.now())
            self._anchor_step = step
        if self._anchor_step is None:
            return
        self._store(None)  # records waiting for the disk were stamped before the step too
        if self._unstored:
            return  # queue unwritable: retried at the next poll
        try:
            changed = self.queue.reanchor(self._anchor_step, self._since_seq)
        except QueueError as exc:
            log.error("records not re-anchored yet; will retry", error=str(exc))
            return
        log.info("records re-anchored", records=changed, step_s=round(self._anchor_step, 3))
        self._anchor_step = None

    # -- runtime settings and status -------------------------------------------------

    def _check_poll(self, poll_s: float) -> None:
        check_bus(self.meter_map, self.requests, self.settings.current, poll_s)

    def _apply_settings(self, config: AgentConfig) -> None:
        # Called on paho's thread after a config command: set values, nothing more.
        # The aggregator belongs to the poll thread, but set_expected_per_minute is
        # a single attribute store read at the next emit.
        self.aggregator.set_expected_per_minute(config.meter.expected_per_minute)
        self.reporter.interval_s = config.status.interval_s
        self.uplink.reconfigure(config.mqtt)
        self.live_publisher.sample_s = config.live.sample_s

    def status_inputs(self, state: str = STATE_ONLINE) -> StatusInputs:
        """What the status reports now (queue, Modbus errors, clock, live mode)."""
        rate = 0.0 if self.uplink.connected else _OFFLINE_RECORD_RATE
        return StatusInputs(
            queue_depth=self.queue.depth(),
            oldest_unsent_ts=self.queue.oldest_ts(),
            store_full_in_s=self.queue.seconds_until_full(rate),
            store_bytes=self.queue.size_bytes(),
            records_dropped=self.queue.dropped_records,
            modbus_errors=self.poller.errors.snapshot(),
            clock_quality=self.clock.quality(),
            live_until=self.live.until(),
            state=state,
            signal_dbm=self.modem.signal_dbm(),
        )

    def _status(self, what: str) -> dict[str, Any] | None:
        """The uplink's status source: "online" (birth), "due" (if due), "offline" (bye)."""
        if what == "online":
            return self.reporter.force(self.status_inputs())
        if what == "due":
            return self.reporter.due(self.status_inputs())
        inputs = replace(self.status_inputs(), state=STATE_OFFLINE)
        return build_status(inputs, self.clock.now(), self.reporter.uptime_s)
