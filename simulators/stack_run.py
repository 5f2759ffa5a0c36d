"""The running stack: broker, viewer, simulated meters and edge agents, started and stopped.

    broker (Mosquitto child process, or amqtt in this process)
      ^  MQTT on 127.0.0.1
      |-- viewer (stack_watch): up/status/live of every device, decoded
      |-- agent demo-sdm630-1 (threads) <--RTU on /dev/pts/N--> simulated SDM630
      |-- agent demo-em340-2  ...                               simulated EM340
      '-- ...

Everything is checked before anything opens (the poll periods against
``--speed``, every agent's configuration, the broker choice): a refusal is a
:class:`StackError` with the reason, and nothing is left behind. Start order makes
sure nothing is missed: the broker, then the viewer (subscribed before any agent
publishes), then the meters, then the agents. Stop order is the reverse, so each
agent flushes its partial minute into its queue and says "offline" while the
broker and the viewer are still there to see it.

All simulated parts share one :class:`~edge_agent.clock.AcceleratedClock`, so the
meters' load and the agents' minutes run on the same simulated time. Simulated
time never goes back between runs on one state directory: a run at ``--speed 30``
ends hours ahead of the wall clock, and the next run resumes from there (saved in
``STATE_DIR/clock``) unless ``--start`` says otherwise. The queues and sequence
numbers carry over too, and a record must never get an earlier timestamp than
the records before it (the cloud stores idempotently on device and timestamp).
The meters' counters carry over likewise (:mod:`simulators.stack_meters`).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from edge_agent.agent import Agent
from edge_agent.clock import AcceleratedClock
from edge_agent.config import AgentConfig, ConfigError
from edge_agent.queue import QueueError
from hardware.planner import BusBudgetError
from simulators.broker import (
    BrokerError,
    BrokerKind,
    EmbeddedBroker,
    LocalMosquitto,
    find_mosquitto,
    start_broker,
)
from simulators.stack_config import MQTT_V5, MQTT_V311, agent_config
from simulators.stack_meters import StackMeter, save_meter, start_meter
from simulators.stack_sites import Site, SpeedError, plan_sites, poll_plan
from simulators.stack_state import Event, StackState
from simulators.stack_watch import Watcher, WatchError

__all__ = [
    "LOOPBACK",
    "Stack",
    "StackError",
    "StackOptions",
    "resolve_broker",
    "save_clock",
    "saved_clock",
]

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
# How long the viewer keeps listening after the agents stopped, for their last words.
_DRAIN_S = 0.5
_AGENT_STOP_TIMEOUT_S = 15.0
CLOCK_FILE = "clock"
LOCK_FILE = "stack.lock"


class StackError(RuntimeError):
    """The stack refused to start; the message says why and what to do."""


@dataclass(frozen=True)
class StackOptions:
    meters: int = 3
    speed: float = 1.0
    start: float | None = None  # simulated time at start, UTC unix seconds; None = now
    broker: BrokerKind = "auto"
    mqtt_port: int = 0  # 0 = a free port
    state_dir: Path = Path("var/stack")


def saved_clock(state_dir: Path) -> float | None:
    """The simulated time the last run on ``state_dir`` stopped at, if any."""
    try:
        return float((state_dir / CLOCK_FILE).read_text().strip())
    except (OSError, ValueError):
        return None


def save_clock(state_dir: Path, t: float) -> None:
    path = state_dir / CLOCK_FILE
    tmp = path.with_suffix(".tmp")
    try:
        tmp.write_text(f"{t:.3f}\n")
        tmp.replace(path)
    except OSError as exc:
        log.warning("cannot save the simulated time to %s: %s", path, exc)


def resolve_broker(kind: BrokerKind) -> str:
    """What ``start_broker(kind)`` will run, "mosquitto" or "amqtt"; StackError if impossible."""
    installed = find_mosquitto() is not None
    if kind == "mosquitto" and not installed:
        raise StackError(
            "--broker mosquitto: Mosquitto is not installed (Debian package `mosquitto`; "
            "scripts/test installs it). Use --broker auto or --broker amqtt for the "
            "in-process broker."
        )
    if kind == "mosquitto" or (kind == "auto" and installed):
        return "mosquitto"
    return "amqtt"


class Stack:
    """Build with options (validates), then :meth:`start` and :meth:`stop`."""

    def __init__(self, options: StackOptions, on_event: Callable[[Event], None] | None = None):
        if options.speed <= 0:
            raise StackError(f"--speed must be > 0, got {options.speed:g}")
        self.options = options
        self.sites = plan_sites(options.meters)
        try:
            self.poll_s = poll_plan(self.sites, options.speed)
        except SpeedError as exc:
            raise StackError(str(exc)) from None
        self.broker_kind = resolve_broker(options.broker)
        self.mqtt_protocol = MQTT_V5 if self.broker_kind == "mosquitto" else MQTT_V311
        self.state_dir = options.state_dir
        # The agent's own validation, before anything opens (placeholders for the pty
        # and the port, which exist only once started).
        for site in self.sites:
            self._config(site, serial_port="/dev/ttyUSB0", mqtt_port=options.mqtt_port or 1883)
        self.state = StackState(self.sites, self.poll_s)
        last = saved_clock(self.state_dir)
        start = options.start
        if start is None:
            start = max(time.time(), last or 0.0)
        # How far an explicit --start goes back before the last run's end (0: it does not).
        self.rewind_s = 0.0 if last is None else max(0.0, last - start)
        self.clock = AcceleratedClock(options.speed, start=start)
        self._on_event = on_event
        self.broker: LocalMosquitto | EmbeddedBroker | None = None
        self.watcher: Watcher | None = None
        self.meters: list[StackMeter] = []
        self.agents: list[Agent] = []
        self._threads: list[threading.Thread] = []
        self.failed: dict[str, str] = {}  # device id -> why its agent stopped by itself
        self._ran = False
        self._address = "-"
        self._lock: IO[str] | None = None

    def _config(self, site: Site, *, serial_port: str, mqtt_port: int) -> AgentConfig:
        try:
            return agent_config(
                site,
                serial_port=serial_port,
                mqtt_port=mqtt_port,
                poll_s=self.poll_s[site.device_id],
                state_dir=self.state_dir,
                mqtt_protocol=self.mqtt_protocol,
            )
        except ConfigError as exc:
            raise StackError(f"{site.device_id}: {exc}") from None

    @property
    def address(self) -> str:
        """host:port of the broker (kept after stop, for the last picture)."""
        return self._address

    # -- start ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start everything; on failure stop what had started and raise StackError."""
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        try:
            self.state_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StackError(f"cannot create the state directory {self.state_dir}: {exc}") from exc
        self._lock_state_dir()
        try:
            self.broker = start_broker(
                LOOPBACK,
                self.options.mqtt_port,
                kind="mosquitto" if self.broker_kind == "mosquitto" else "amqtt",
                state_dir=self.state_dir / "mosquitto",
            )
        except (BrokerError, OSError) as exc:
            raise StackError(f"the MQTT broker did not start: {exc}") from exc
        self._address = f"{LOOPBACK}:{self.broker.port}"
        self.watcher = Watcher(
            self.state,
            LOOPBACK,
            self.broker.port,
            mqtt_protocol=self.mqtt_protocol,
            on_event=self._on_event,
        )
        try:
            self.watcher.start()
        except WatchError as exc:
            raise StackError(str(exc)) from exc
        for site in self.sites:
            self.meters.append(self._start_meter(site))
        for meter in self.meters:
            self.agents.append(self._make_agent(meter))
        self._ran = True
        for agent in self.agents:
            thread = threading.Thread(
                target=self._run_agent, args=(agent,), name=f"agent-{agent.device_id}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def _lock_state_dir(self) -> None:
        # One stack per state directory: a second one would share Mosquitto's
        # database and the clock file with the first (the queues lock themselves).
        path = self.state_dir / LOCK_FILE
        lock = path.open("a")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.close()
            raise StackError(
                f"another myenergy-stack is running on {self.state_dir}: stop it, "
                "or pass another --state-dir"
            ) from None
        self._lock = lock

    def _start_meter(self, site: Site) -> StackMeter:
        try:
            return start_meter(site, self.clock, self.state_dir)
        except OSError as exc:
            raise StackError(f"{site.device_id}: cannot open a pseudo-terminal: {exc}") from exc

    def _make_agent(self, meter: StackMeter) -> Agent:
        assert self.broker is not None
        config = self._config(meter.site, serial_port=meter.path, mqtt_port=self.broker.port)
        try:
            return Agent(config, clock=self.clock)
        except QueueError as exc:
            raise StackError(f"{meter.site.device_id}: {exc}") from exc
        except BusBudgetError as exc:
            raise StackError(f"{meter.site.device_id}: {exc}") from exc

    def _run_agent(self, agent: Agent) -> None:
        try:
            agent.run()
        except Exception as exc:  # shown in the view; the other agents go on
            log.exception("agent %s failed", agent.device_id)
            self.failed[agent.device_id] = f"agent stopped: {exc}"
            self.state.note_problem(agent.device_id, f"agent stopped: {exc}")

    # -- while running -------------------------------------------------------------------

    def device_ids(self) -> list[str]:
        return [s.device_id for s in self.sites]

    def request_live(self, devices: Iterable[str], minutes: int, *, at_birth: bool = False) -> None:
        if self.watcher is not None:
            for device_id in devices:
                self.watcher.request_live(device_id, minutes, at_birth=at_birth)

    def stop_live(self, devices: Iterable[str]) -> None:
        if self.watcher is not None:
            for device_id in devices:
                self.watcher.stop_live(device_id)

    # -- stop ----------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop agents (they flush), then viewer, meters and broker. Safe to call twice."""
        started = {t.name.removeprefix("agent-") for t in self._threads}
        for agent in self.agents:
            agent.request_stop()
            if agent.device_id not in started:  # built but never run: release its queue
                with contextlib.suppress(Exception):
                    agent.queue.close()
        deadline = time.monotonic() + _AGENT_STOP_TIMEOUT_S
        for thread in self._threads:
            thread.join(max(0.1, deadline - time.monotonic()))
        stuck = [t.name for t in self._threads if t.is_alive()]
        if stuck:
            log.error("agents did not stop in time: %s", ", ".join(stuck))
        self._threads = []
        self.agents = []
        if self.watcher is not None:
            time.sleep(_DRAIN_S)  # the agents' offline statuses are on their way
            with contextlib.suppress(Exception):
                self.watcher.stop()
            self.watcher = None
        for meter in self.meters:
            meter.server.stop()
            save_meter(meter, self.state_dir)
        self.meters = []
        if self.broker is not None:
            try:
                self.broker.stop()
            except BrokerError:
                log.exception("the broker did not stop cleanly")
            self.broker = None
        if self._ran:
            save_clock(self.state_dir, self.clock.now())
            self._ran = False
        if self._lock is not None:
            self._lock.close()  # releases the flock
            self._lock = None
