"""Building blocks of the agent's integration tests: real meter, real broker, real agent.

* :func:`start_meter` - the simulated SDM630 (seeded load model) served on a
  pseudo-terminal with RS-485 timing, on the same clock as the agent;
* :func:`write_config` - an ``agent.toml`` for an in-process :class:`Agent` or a
  ``myenergy-agent run`` subprocess;
* :class:`Collector` - the cloud side: a persistent-session MQTT v5 subscriber that
  decodes batches, status and live messages as they arrive.

The line runs at 115200 baud with a 2 ms turnaround (one poll is ~30 ms of real
time), so an agent on a 60x clock still gets a dozen or more polls per minute.
"""

from __future__ import annotations

import contextlib
import math
import queue
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from paho.mqtt.enums import MQTTProtocolVersion

from edge_agent.agent import Agent
from edge_agent.clock import Clock
from edge_agent.config import load_config
from hardware.maps import load_map
from hardware.model import SerialSettings
from protocol import topics
from protocol.codec import Record, decode_batch, decode_live, decode_status
from simulators.clock import Clock as SimClockLike
from simulators.load import LoadModel
from simulators.meter import SimulatedMeter
from simulators.rtu_pty import RtuPtyServer, serve_rtu_pty
from tests.fixtures.mosquitto import MqttCredentials
from tests.fixtures.mqtt import MqttTestClient

DEVICE = "site-it-0001"
# The console script the package installs (pyproject: myenergy-agent = edge_agent.cli:main).
AGENT_EXE = str(Path(sys.executable).with_name("myenergy-agent"))
MODEL = "sdm630"
FAST_LINE = SerialSettings(115200, "N", 8, 1)
TURNAROUND_S = 0.002
# 2026-03-02 (a Monday) 09:58:30 UTC: mid-morning load, a minute boundary soon.
T0 = 1_772_445_510.0


# -- the meter ---------------------------------------------------------------------------


@dataclass
class Meter:
    """A simulated meter on a pty: ``path`` is what the agent opens."""

    sim: SimulatedMeter
    server: RtuPtyServer
    load: LoadModel

    @property
    def path(self) -> str:
        return self.server.path

    def stop(self) -> None:
        self.server.stop()


def start_meter(clock: SimClockLike, seed: int = 7) -> Meter:
    """The meter on a new pty; ``clock`` is shared with the agent (or a SimClock)."""
    load = LoadModel(seed, "business")
    sim = SimulatedMeter(load_map(MODEL), load, clock, 1, turnaround_s=TURNAROUND_S)
    return Meter(sim, serve_rtu_pty(sim, FAST_LINE), load)


# -- the agent's configuration -----------------------------------------------------------


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _toml(data: Mapping[str, Any], prefix: str = "") -> list[str]:
    lines = [f"{k} = {_toml_value(v)}" for k, v in data.items() if not isinstance(v, Mapping)]
    for key, value in data.items():
        if isinstance(value, Mapping):
            name = f"{prefix}{key}"
            lines += ["", f"[{name}]", *_toml(value, name + ".")]
    return lines


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def write_config(
    directory: Path,
    *,
    serial_port: str,
    mqtt_port: int,
    mqtt_host: str = "127.0.0.1",
    device_id: str = DEVICE,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """An agent.toml for tests: fast line, short timeouts, plain MQTT unless ``extra`` says."""
    data: dict[str, Any] = {
        "version": 1,
        "device": {"id": device_id},
        "meter": {
            "model": MODEL,
            "transport": "rtu",
            "port": serial_port,
            "baudrate": FAST_LINE.baudrate,
            "timeout_s": 0.2,
            "retries": 1,
            "poll_s": 1.0,
        },
        "mqtt": {
            "host": mqtt_host,
            "port": mqtt_port,
            "keepalive_s": 10,
            "upload_interval_s": 60,
            "backoff_min_s": 0.2,
            "backoff_max_s": 2.0,
            "tls": {"enabled": False},
        },
        "store": {"path": str(directory / "queue.sqlite3"), "max_bytes": "256MiB"},
        "status": {"interval_s": 60},
        "log": {"level": "INFO", "format": "json"},
    }
    if extra:
        data = _merge(data, extra)
    path = directory / "agent.toml"
    path.write_text("\n".join(_toml(data)) + "\n")
    return path


def make_agent(config_path: Path, clock: Clock) -> Agent:
    return Agent(load_config(config_path, {}), clock=clock)


# -- the cloud side ------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    """One record as it arrived, with the flag of the batch that carried it."""

    record: Record
    historical: bool
    device: str  # from the topic it arrived on


@dataclass
class Collector:
    """Subscribes to one device's up/status/live topics with a persistent session."""

    client: MqttTestClient
    device_id: str = DEVICE
    records: list[Received] = field(default_factory=list)
    statuses: list[dict[str, Any]] = field(default_factory=list)
    live: list[tuple[int, dict[str, float], int]] = field(default_factory=list)  # +qos
    batches: int = 0

    def start(self) -> Collector:
        self.client.connect()
        self.subscribe()
        return self

    def subscribe(self) -> None:
        self.client.subscribe(topics.uplink(self.device_id), qos=1)
        self.client.subscribe(topics.status(self.device_id), qos=1)
        self.client.subscribe(topics.live(self.device_id), qos=0)

    def reconnect(self, timeout: float = 10.0) -> None:
        """After a broker restart: connect again (the session, and what it queued, remain)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.client.connect()
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def drain(self, timeout: float = 0.0) -> int:
        """Take what has arrived (waiting up to ``timeout`` for the first); how many."""
        n = 0
        wait = timeout
        while True:
            try:
                message = (
                    self.client.messages.get(timeout=wait)
                    if wait > 0
                    else (self.client.messages.get_nowait())
                )
            except queue.Empty:
                return n
            wait = 0.0
            n += 1
            device, kind = topics.parse(message.topic)
            if kind == topics.UP:
                batch = decode_batch(bytes(message.payload))
                self.batches += 1
                self.records += [Received(r, batch.historical, device) for r in batch.records]
            elif kind == topics.STATUS:
                self.statuses.append(decode_status(bytes(message.payload)))
            elif kind == topics.LIVE:
                _, samples = decode_live(bytes(message.payload))
                self.live += [(ts, values, message.qos) for ts, values in samples]

    def wait_until(self, predicate: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for {what}")
            self.drain(0.05)

    def seqs(self) -> set[int]:
        """Every seq covered by a received record (coarse records cover ``span`` seqs)."""
        return {r.record.seq + i for r in self.records for i in range(r.record.span)}

    def unique_records(self) -> dict[int, Record]:
        """Dedup by (device, ts): what idempotent storage keeps."""
        return {r.record.ts: r.record for r in self.records}


def collector(
    broker_host: str,
    broker_port: int,
    client_id: str = "ingest-it",
    credentials: MqttCredentials | None = None,
) -> Collector:
    client = MqttTestClient(
        broker_host,
        broker_port,
        client_id,
        protocol=MQTTProtocolVersion.MQTTv5,
        clean_start=False,
        credentials=credentials,
    )
    return Collector(client)


# -- checks ----------------------------------------------------------------------------------


def assert_no_gaps(seqs: set[int], up_to: int) -> None:
    missing = sorted(set(range(1, up_to + 1)) - seqs)
    assert not missing, f"{len(missing)} seqs never arrived, first {missing[:10]}"


def wait_for(predicate: Callable[[], bool], timeout: float, what: str, step: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(step)


def resolution_tolerance(value: float, resolution: float) -> float:
    """What the wire's rounding and the meter's float32 registers may move a value."""
    return resolution + abs(value) * 2.0**-22


# -- the agent as a process ------------------------------------------------------------------


@contextlib.contextmanager
def agent_process(config: Path, log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``myenergy-agent run --config ...`` as a child process; SIGKILLed if still alive."""
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            [AGENT_EXE, "run", "--config", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.wait(10)


def minutes_between(t1: float, t2: float) -> int:
    return math.floor(t2 / 60) - math.floor(t1 / 60)
