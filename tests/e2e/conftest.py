"""The whole uplink on real servers, on loopback, with accelerated time.

    simulated SDM630 on a pty  ->  edge Agent (in-process, AcceleratedClock)
      ->  Mosquitto (fixture)  ->  `python -m ingest.cli run` (subprocess)
      ->  InfluxDB (session fixture, one database per test)

The meter and the agent share one :class:`AcceleratedClock` (``SPEED`` x real
time), as in ``tests/integration/harness.py``. The ingest worker runs on real
time: the simulated day is chosen in the recent past (see :func:`simulated_start`),
so its time rules (future records, installation date) and InfluxDB's retention
policies accept every record.

The meter remembers when it served each read of the ``e_imp_wh`` register
(:class:`SampledMeter`): a record's counter is the value of the last read of its
minute, so the reading stored "at" a minute boundary was taken at one of the two
reads around it. The tests use that window to bound how far a stored 15-minute
energy may be from the load model's exact integral.
"""

from __future__ import annotations

import bisect
import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from edge_agent.agent import Agent
from edge_agent.clock import AcceleratedClock
from hardware.maps import load_map
from ingest.registry import Registry
from ingest.store import InfluxConfig, TimeSeriesStore, open_store
from protocol.records import Record
from simulators.faults import RequestFaults
from simulators.load import LoadModel
from simulators.meter import SimulatedMeter
from simulators.rtu_pty import RtuPtyServer, serve_rtu_pty
from tests.conftest import _register_log
from tests.fixtures.influxdb import InfluxServer
from tests.fixtures.mosquitto import MosquittoBroker
from tests.integration.harness import FAST_LINE, MODEL, TURNAROUND_S, make_agent, write_config

ROOT = Path(__file__).resolve().parents[2]
DEVICE = "e2e-meter-0001"
SITE = "e2e-site-0001"
INGEST_CLIENT_ID = "ingest-e2e"
SPEED = 60.0  # simulated seconds per real second, for the meter and the agent
MINUTE = 60
QUARTER = 900
DAY = 86400
COUNTER = "e_imp_wh"


def simulated_start(now: float) -> float:
    """09:57:30 UTC on the Monday at least a week before ``now``.

    A business's weekday morning (real load), a minute boundary soon after the
    start. Relative to the real date because ingest and InfluxDB judge records by
    the wall clock: a record ending after now + 300 s is refused, and one older
    than the `raw` retention policy (400 days) is dropped by InfluxDB. The same
    day for a whole week, so a failure can be reproduced.
    """
    day = (int(now) // DAY - 7) * DAY
    monday = day - ((day // DAY + 3) % 7) * DAY  # 1970-01-01 was a Thursday
    return float(monday + 9 * 3600 + 57 * 60 + 30)


class SampledMeter(SimulatedMeter):
    """A SimulatedMeter that records the simulated instant of every read of ``COUNTER``."""

    def __init__(self, load: LoadModel, clock: AcceleratedClock) -> None:
        super().__init__(load_map(MODEL), load, clock, 1, turnaround_s=TURNAROUND_S)
        point = next(p for p in self.map.points if p.channel == COUNTER)
        self._counter_address = (point.fc, point.address)
        self._request_t = 0.0
        self._reads: list[float] = []
        self._reads_lock = threading.Lock()

    def begin_request(self) -> RequestFaults:
        faults = super().begin_request()
        self._request_t = self.load.t  # the instant the image was refreshed for
        return faults

    def registers(self, fc: int, address: int, count: int) -> list[int]:
        fc0, address0 = self._counter_address
        if fc == fc0 and address <= address0 < address + count:
            with self._reads_lock:
                self._reads.append(self._request_t)
        return super().registers(fc, address, count)

    def reads_around(self, t: float) -> tuple[float, float]:
        """The last read of the counter at or before ``t`` and the first at or after it."""
        with self._reads_lock:
            reads = sorted(self._reads)
        i = bisect.bisect_right(reads, t)
        j = bisect.bisect_left(reads, t)
        if i == 0 or j == len(reads):
            raise AssertionError(f"no counter read on both sides of {t}")
        return reads[i - 1], reads[j]


@dataclass
class IngestWorker:
    """``python -m ingest.cli run`` as a child process; one log file per start."""

    config: Path
    logs: Path
    name: str = "ingest"
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def proc(self) -> subprocess.Popen[bytes]:
        return self.procs[-1]

    def start(self) -> subprocess.Popen[bytes]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MYENERGY_INGEST_")}
        with (self.logs / f"ingest-{len(self.procs) + 1}.log").open("wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "ingest.cli", "run", "--config", str(self.config)],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.procs.append(proc)
        return proc

    def kill(self) -> None:
        """SIGKILL: a crash, un-acked messages stay with the broker."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> int:
        """SIGTERM: a clean stop; the exit status."""
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(15)

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)

    def log_text(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.logs.glob("*.log")))


def wait_for(predicate: Callable[[], bool], timeout: float, what: str, step: float = 0.1) -> None:
    """Poll ``predicate`` until it holds; AssertionError after ``timeout`` real seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(step)


@dataclass
class EndToEnd:
    """One running pipeline and handles on every part of it."""

    clock: AcceleratedClock
    load: LoadModel
    meter: SampledMeter
    server: RtuPtyServer
    agent: Agent
    ingest: IngestWorker
    store: TimeSeriesStore
    influxdb: InfluxServer
    mosquitto: MosquittoBroker
    state_path: Path
    t0: float

    def start(self) -> None:
        """Start the agent (the ingest worker already runs: see the fixture)."""
        self.agent.start()

    def stored(self) -> list[Record]:
        """Every 1-minute record of the device in the store, by ts."""
        return self.store.records(DEVICE, int(self.t0) - DAY, int(self.t0) + DAY)

    def wait_stored(
        self, predicate: Callable[[list[Record]], bool], timeout: float, what: str
    ) -> None:
        wait_for(lambda: predicate(self.stored()), timeout, what, step=0.25)

    def wait_until_simulated(self, t: float) -> None:
        """Sleep until the shared clock reads ``t``."""
        time.sleep(max(0.0, (t - self.clock.now()) / SPEED))

    def finish(self, timeout: float = 60.0) -> int:
        """Stop the meter, let the agent close its last minute and empty its queue into
        the store, then stop the agent; the last seq the agent produced.

        With the meter silent no new record is made (a minute without a poll has no
        record) and the poll loop closes the minute in progress once its end has
        passed, so "queue empty" becomes a stable state and stopping the agent
        stores nothing more (checked: ``records_stored`` does not move).
        """
        self.server.stop()
        silent_from = self.clock.now()
        self.wait_until_simulated((silent_from // MINUTE + 2) * MINUTE)
        queue = self.agent.queue
        wait_for(lambda: queue.depth() == 0, timeout, "the agent's queue to empty")
        last_seq = queue.next_seq - 1
        stored = self.agent.records_stored
        self.agent.stop()
        assert self.agent.records_stored == stored, "the agent stored a record at shutdown"
        return last_seq


@pytest.fixture
def agent_extra() -> dict[str, Any]:
    """Settings merged into the agent's configuration (a test parametrizes it)."""
    return {}


@pytest.fixture
def e2e(
    request: pytest.FixtureRequest,
    agent_extra: dict[str, Any],
    mosquitto: MosquittoBroker,
    influxdb: InfluxServer,
    tmp_path: Path,
) -> Iterator[EndToEnd]:
    """A fresh InfluxDB database, the ingest worker running, meter and agent ready
    (``e2e.start()`` starts the agent)."""
    t0 = simulated_start(time.time())
    registry = Registry.open(f"sqlite:///{tmp_path / 'registry.sqlite3'}")
    installed = dt.datetime.fromtimestamp(t0 - 30 * DAY, dt.UTC)
    registry.add_device(DEVICE, SITE, MODEL, installed_at=installed)
    registry.close()

    state = tmp_path / "ingest-state.sqlite3"
    database = f"e2e_{uuid.uuid4().hex[:8]}"
    config = tmp_path / "ingest.toml"
    config.write_text(
        f"""version = 1
[mqtt]
host = "{mosquitto.host}"
port = {mosquitto.port}
client_id = "{INGEST_CLIENT_ID}"
keepalive_s = 10
subscribe_live = false
[store]
kind = "influx"
influx_url = "{influxdb.url}"
influx_database = "{database}"
influx_timeout_s = 2.0
influx_retries = 1
[registry]
url = "sqlite:///{tmp_path / "registry.sqlite3"}"
[state]
path = "{state}"
[metrics]
enabled = false
[retry]
backoff_min_s = 0.1
backoff_max_s = 1.0
"""
    )
    logs = tmp_path / "logs"
    logs.mkdir()
    ingest = IngestWorker(config, logs)
    _register_log(request.node, ingest)  # its log joins the broker's in a failure report

    # Ingest first, and its subscription made (from then on its persistent session
    # keeps everything for it); the shared clock starts only now, so the agent's
    # first minute is the simulated start's, however long ingest took to start.
    mark = len(mosquitto.log_text())
    ingest.start()
    wait_for(
        lambda: "myenergy/v1/+/up" in mosquitto.log_text()[mark:],
        30,
        "the ingest worker's subscription",
    )
    clock = AcceleratedClock(SPEED, start=t0)
    load = LoadModel(7, "business")
    meter = SampledMeter(load, clock)
    server = serve_rtu_pty(meter, FAST_LINE)
    agent_dir = tmp_path / "agent"
    agent_dir.mkdir()
    agent = make_agent(
        write_config(
            agent_dir,
            serial_port=server.path,
            mqtt_port=mosquitto.port,
            device_id=DEVICE,
            extra=agent_extra,
        ),
        clock,
    )
    store = open_store(InfluxConfig(url=influxdb.url, database=database, retries=2, timeout_s=5.0))
    run = EndToEnd(clock, load, meter, server, agent, ingest, store, influxdb, mosquitto, state, t0)
    try:
        yield run
    finally:
        agent.stop()
        server.stop()
        ingest.close()
        if not influxdb.running:
            influxdb.start()  # shared by the session
        store.close()
