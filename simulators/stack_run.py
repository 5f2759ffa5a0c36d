"""The running stack: broker, cloud, viewer, simulated meters and edge agents.

    broker (Mosquitto child process, amqtt in this process, or one named in the settings)
      ^  MQTT on 127.0.0.1
      |-- ingest (stack_cloud): consumer + pipeline -> time-series store, registry
      |-- portal (stack_portal): FastAPI under uvicorn on 127.0.0.1:8000 or the next free port
      |-- viewer (stack_watch): up/status/live of every device, decoded
      |-- agent demo-sdm630-1 (threads) <--RTU on /dev/pts/N--> simulated SDM630
      |-- agent demo-em340-2  ...                               simulated EM340
      |-- ...
      '-- agent demo-sdm120-4 --flaky link (stack_radio)-->     simulated SDM120

Everything is checked before anything opens (the poll periods against
``--speed``, every agent's configuration, the broker choice): a refusal is a
:class:`StackError` with the reason, and nothing is left behind. Start order makes
sure nothing is missed: the broker; ingest (registered devices, its subscription
made before any agent publishes); the history backfill (:mod:`simulators.history`,
devices the store has no records of); the portal (migrated, seeded); the viewer;
the meters; the radio and the flaky link; the agents. Stop order is the reverse,
so each agent flushes its partial minute into its queue and says "offline" while
the broker, ingest and the viewer are still there to see it.

All simulated parts share one :class:`~edge_agent.clock.AcceleratedClock`, so the
meters' load and the agents' minutes run on the same simulated time. Simulated
time never goes back between runs on one state directory: a run at ``--speed 30``
ends hours ahead of the wall clock, and the next run resumes from there (saved in
``STATE_DIR/clock``) unless ``--start`` says otherwise. The queues and sequence
numbers carry over too, and a record must never get an earlier timestamp than
the records before it (the cloud stores idempotently on device and timestamp).
The meters' counters carry over likewise (:mod:`simulators.stack_meters`).

The meters' load starts at the minute the stack starts in (``load_start``), and
the history backfilled for a new device ends exactly there with the same
counters, so the live data joins the history without a step. The backfill takes
a few seconds; the simulated clock starts after it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import logging
import math
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from edge_agent.agent import Agent
from edge_agent.clock import AcceleratedClock
from edge_agent.config import AgentConfig, ConfigError
from edge_agent.queue import QueueError
from hardware.planner import BusBudgetError
from portal_api.accounts.pik_demo import DemoPik
from portal_api.config import ConfigError as PortalConfigError
from portal_api.seed import DemoLogin, demo_logins, demo_site_of
from simulators.broker import (
    BrokerError,
    BrokerKind,
    EmbeddedBroker,
    LocalMosquitto,
    find_mosquitto,
    start_broker,
)
from simulators.history import DAY_S, HistoryResult, backfill, reserve_seqs
from simulators.stack_cloud import BrokerAccess, DeviceEntry, StackIngest, StackIngestError
from simulators.stack_config import MQTT_V5, MQTT_V311, agent_config, queue_path
from simulators.stack_meters import ResumedLoad, StackMeter, meter_load, save_meter, start_meter
from simulators.stack_portal import PortalServer, PortalStartError, prepare_portal
from simulators.stack_radio import GOOD_DBM, WEAK_DBM, Radio, RadioDevice, signal_path
from simulators.stack_settings import StackSettings
from simulators.stack_sites import Site, SpeedError, plan_sites, poll_plan
from simulators.stack_state import Event, StackState
from simulators.stack_watch import Watcher, WatchError

__all__ = [
    "DEFAULT_METERS",
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


DEFAULT_METERS = 4
FLAKY_AUTO = "auto"
FLAKY_NONE = "none"


@dataclass(frozen=True)
class StackOptions:
    meters: int = DEFAULT_METERS
    speed: float = 1.0
    start: float | None = None  # simulated time at start, UTC unix seconds; None = now
    broker: BrokerKind = "auto"
    mqtt_port: int = 0  # 0 = a free port
    state_dir: Path = Path("var/stack")
    settings: StackSettings = field(default_factory=StackSettings)
    history_days: float | None = None  # None: settings.history.days
    portal: bool = True  # None of the settings: --no-portal
    portal_port: int | None = None  # None: settings.portal.port
    # The device behind the flaky link: "auto" = the first single-phase (SDM120) site.
    flaky: str = FLAKY_AUTO


HistoryProgress = Callable[[str, int, int], None]


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

    def __init__(
        self,
        options: StackOptions,
        on_event: Callable[[Event], None] | None = None,
        on_history: HistoryProgress | None = None,
    ):
        if options.speed <= 0:
            raise StackError(f"--speed must be > 0, got {options.speed:g}")
        self.options = options
        self.settings = options.settings
        self.sites = plan_sites(options.meters)
        try:
            self.poll_s = poll_plan(self.sites, options.speed)
        except SpeedError as exc:
            raise StackError(str(exc)) from None
        if self.settings.broker.external:
            self.broker_kind = "external"
            self.mqtt_protocol = MQTT_V5
        else:
            self.broker_kind = resolve_broker(options.broker)
            self.mqtt_protocol = MQTT_V5 if self.broker_kind == "mosquitto" else MQTT_V311
        self.state_dir = options.state_dir
        days = options.history_days
        self.history_days = self.settings.history.days if days is None else days
        # The ingest site of each device: the demo customers' sites (portal_api.seed),
        # a site of its own for the devices beyond them.
        self.site_ids = {
            s.device_id: demo_site_of(s.device_id) or f"demo-{s.index}" for s in self.sites
        }
        self.flaky = self._flaky_device(options.flaky)
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
        self._start_t = start
        self.clock = AcceleratedClock(options.speed, start=start)
        # The meters' load starts at this minute; new devices' history ends there.
        self.load_start = int(math.floor(start / 60.0) * 60)
        self._on_event = on_event
        self._on_history = on_history
        self.broker: LocalMosquitto | EmbeddedBroker | None = None
        self.access: BrokerAccess | None = None
        self.ingest: StackIngest | None = None
        self.portal: PortalServer | None = None
        # The demo customers' PIKs of this run (Virtual CSC login), printed at start.
        self.piks: tuple[DemoPik, ...] = ()
        self.history: list[HistoryResult] = []
        self.ingest_totals: dict[str, object] = {}
        self.radio: Radio | None = None
        self.watcher: Watcher | None = None
        self.meters: list[StackMeter] = []
        self.agents: list[Agent] = []
        self._threads: list[threading.Thread] = []
        self.failed: dict[str, str] = {}  # device id -> why its agent stopped by itself
        self._ran = False
        self._address = "-"
        self._lock: IO[str] | None = None

    def _flaky_device(self, wanted: str) -> str | None:
        if wanted == FLAKY_NONE:
            return None
        if wanted == FLAKY_AUTO:
            return next((s.device_id for s in self.sites if s.phases == 1), None)
        if wanted not in self.site_ids:
            raise StackError(
                f"--flaky-link {wanted}: no such device; this stack runs: "
                f"{', '.join(self.site_ids)} (or 'none')"
            )
        return wanted

    def _config(self, site: Site, *, serial_port: str, mqtt_port: int) -> AgentConfig:
        broker = self.settings.broker
        try:
            return agent_config(
                site,
                serial_port=serial_port,
                mqtt_port=mqtt_port,
                poll_s=self.poll_s[site.device_id],
                state_dir=self.state_dir,
                mqtt_protocol=self.mqtt_protocol,
                mqtt_host=broker.host or LOOPBACK,
                mqtt_username=broker.username,
                mqtt_password=broker.password_value(),
                signal_file=signal_path(self.state_dir, site.device_id),
            )
        except ConfigError as exc:
            raise StackError(f"{site.device_id}: {exc}") from None

    def ingest_summary(self) -> dict[str, object]:
        """What ingest stored so far (after the stop: what it had stored)."""
        ingest = self.ingest
        if ingest is None or ingest.pipeline is None:
            return dict(self.ingest_totals)
        return {
            "store": ingest.store_label,
            "records": ingest.records_stored,
            "history": sum(h.records for h in self.history),
            "dead_letters": ingest.dead_letters,
            "missing": ingest.missing,
        }

    @property
    def logins(self) -> list[DemoLogin]:
        """The demo logins of the portal (empty without one)."""
        return demo_logins() if self.portal is not None else []

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
        access = self.access = self._start_broker()
        self._address = f"{access.host}:{access.port}"
        loads = {s.device_id: meter_load(s, self.state_dir, self.load_start) for s in self.sites}
        ingest = self._start_ingest(access)
        self._backfill(ingest, loads)
        if self.options.portal and self.settings.portal.enabled:
            self._start_portal(access)
        # Simulated time starts now that the slow part is done (the load started at
        # load_start, so nothing between it and the first poll is lost).
        self.clock = AcceleratedClock(self.options.speed, start=self._resume_at())
        self.watcher = Watcher(
            self.state,
            access.host,
            access.port,
            mqtt_protocol=self.mqtt_protocol,
            on_event=self._on_event,
            on_raw=ingest.feed,
            username=access.username,
            password=access.password,
        )
        try:
            self.watcher.start()
        except WatchError as exc:
            raise StackError(str(exc)) from exc
        for site in self.sites:
            self.meters.append(self._start_meter(site, loads[site.device_id]))
        ports = self._start_radio(access)
        for meter in self.meters:
            self.agents.append(
                self._make_agent(meter, ports.get(meter.site.device_id, access.port))
            )
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

    def _start_broker(self) -> BrokerAccess:
        broker = self.settings.broker
        if broker.external:
            return BrokerAccess(
                broker.host, broker.port, True, broker.username, broker.password_value()
            )
        try:
            self.broker = start_broker(
                LOOPBACK,
                self.options.mqtt_port,
                kind="mosquitto" if self.broker_kind == "mosquitto" else "amqtt",
                state_dir=self.state_dir / "mosquitto",
            )
        except (BrokerError, OSError) as exc:
            raise StackError(f"the MQTT broker did not start: {exc}") from exc
        return BrokerAccess(LOOPBACK, self.broker.port, self.broker_kind == "mosquitto")

    def _installed_at(self) -> dt.datetime:
        # A day before the history starts: ingest refuses records from before installation.
        first = self.load_start - self.history_days * DAY_S - DAY_S
        return dt.datetime.fromtimestamp(first, dt.UTC).replace(microsecond=0)

    def _start_ingest(self, access: BrokerAccess) -> StackIngest:
        # A lambda, not the bound method: the clock is replaced once the backfill is done.
        now = lambda: self.clock.now()  # noqa: E731, PLW0108
        ingest = self.ingest = StackIngest(self.settings, self.state_dir, now)
        try:
            ingest.open()
            ingest.register(
                [DeviceEntry(s.device_id, self.site_ids[s.device_id], s.model) for s in self.sites],
                self._installed_at(),
            )
            ingest.start(access)
        except StackIngestError as exc:
            raise StackError(str(exc)) from exc
        return ingest

    def _backfill(self, ingest: StackIngest, loads: dict[str, ResumedLoad]) -> None:
        """History for the devices the store has no records of (a fresh state directory)."""
        if self.history_days <= 0:
            return
        assert ingest.pipeline is not None
        minutes = round(self.history_days * DAY_S / 60)
        for site in self.sites:
            if ingest.has_records(site.device_id):
                continue
            config = self._config(site, serial_port="/dev/ttyUSB0", mqtt_port=1883)
            first_seq = reserve_seqs(
                queue_path(self.state_dir, site.device_id), minutes, int(config.store.max_bytes)
            )
            self.history.append(
                backfill(
                    ingest.pipeline,
                    site,
                    end=self.load_start,
                    days=self.history_days,
                    end_counters=loads[site.device_id].counters_at(self.load_start),
                    first_seq=first_seq,
                    progress=self._on_history,
                )
            )

    def _start_portal(self, access: BrokerAccess) -> None:
        settings = self.settings
        if self.options.portal_port is not None:
            portal = settings.portal.model_copy(update={"port": self.options.portal_port})
            settings = settings.model_copy(update={"portal": portal})
        now = dt.datetime.fromtimestamp(self.load_start, dt.UTC)
        try:
            prepared = prepare_portal(
                settings,
                self.state_dir,
                access,
                installed_at=self._installed_at(),
                now=now,
                speed=self.options.speed,
            )
            self.piks = prepared.piks
            self.portal = PortalServer(prepared.config, lambda: self.clock.now())  # noqa: PLW0108
            self.portal.start()
        except (PortalStartError, PortalConfigError) as exc:
            self.portal = None
            raise StackError(f"the portal did not start: {exc}") from exc
        except ImportError as exc:  # a checkout whose web layer is broken or incomplete
            self.portal = None
            raise StackError(
                f"the portal's web layer does not load ({exc}); run with --no-portal"
            ) from exc

    def _resume_at(self) -> float:
        if self.options.start is not None:
            return self._start_t
        return max(self._start_t, time.time())

    def _start_radio(self, access: BrokerAccess) -> dict[str, int]:
        """Signal files for every device; the flaky link. The MQTT port each agent uses."""
        ports: dict[str, int] = {}
        devices = []
        for site in self.sites:
            link = None
            # The proxy stays on loopback: only in front of a local broker.
            if site.device_id == self.flaky and access.host == LOOPBACK:
                link = Radio.flaky_link(access.port)
                ports[site.device_id] = link.port
            level = WEAK_DBM if site.device_id == self.flaky else GOOD_DBM - 2 * site.index
            devices.append(
                RadioDevice(
                    site.device_id, signal_path(self.state_dir, site.device_id), level, link
                )
            )
        self.radio = Radio(devices)
        self.radio.start()
        return ports

    def _start_meter(self, site: Site, load: ResumedLoad) -> StackMeter:
        try:
            return start_meter(site, self.clock, self.state_dir, load=load)
        except OSError as exc:
            raise StackError(f"{site.device_id}: cannot open a pseudo-terminal: {exc}") from exc

    def _make_agent(self, meter: StackMeter, mqtt_port: int) -> Agent:
        config = self._config(meter.site, serial_port=meter.path, mqtt_port=mqtt_port)
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
        if self.radio is not None:
            self.radio.stop()
            self.radio = None
        if self.watcher is not None:
            time.sleep(_DRAIN_S)  # the agents' offline statuses are on their way
            with contextlib.suppress(Exception):
                self.watcher.stop()
            self.watcher = None
        if self.ingest is not None:
            if self.ingest.pipeline is not None:
                self.ingest_totals = self.ingest_summary()
            self.ingest.stop()  # nothing unprocessed acked: the session keeps it
            self.ingest = None
        if self.portal is not None:
            self.portal.stop()
            self.portal = None
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
