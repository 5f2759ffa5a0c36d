"""`myenergy-ingest run` killed with SIGKILL mid-stream and restarted: every record once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.records import START
from ingest.store import EnergyKey, SqliteStore
from tests.conftest import MqttClientFactory
from tests.fixtures.mosquitto import MosquittoBroker
from tests.ingest.consumer.helpers import (
    METER_A,
    batch,
    counter_at,
    make_registry,
    records,
    uplink,
    wait_until,
)

ROOT = Path(__file__).resolve().parents[3]
DAY = 86400


def _config(tmp_path: Path, broker: MosquittoBroker) -> Path:
    path = tmp_path / "ingest.toml"
    path.write_text(
        f"""version = 1
[mqtt]
host = "{broker.host}"
port = {broker.port}
client_id = "ingest-crash"
keepalive_s = 10
[store]
sqlite_path = "{tmp_path / "ts.sqlite3"}"
[registry]
url = "sqlite:///{tmp_path / "registry.sqlite3"}"
[state]
path = "{tmp_path / "state.sqlite3"}"
[metrics]
enabled = false
[retry]
backoff_min_s = 0.1
backoff_max_s = 0.5
"""
    )
    return path


@pytest.fixture
def run_ingest(tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def _start(config: Path, tmp_path: Path, n: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MYENERGY_INGEST_")}
    log = (tmp_path / f"ingest-{n}.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "ingest.cli", "run", "--config", str(config)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def test_kill_9_mid_stream_then_restart_loses_and_duplicates_nothing(
    mosquitto: MosquittoBroker,
    mqtt_clients: MqttClientFactory,
    tmp_path: Path,
    run_ingest: list[subprocess.Popen[bytes]],
) -> None:
    make_registry(tmp_path / "registry.sqlite3").close()
    config = _config(tmp_path, mosquitto)
    store = SqliteStore(tmp_path / "ts.sqlite3")
    store.init()
    run_ingest.append(_start(config, tmp_path, 1))
    # The worker subscribes once; from then on its session keeps everything for it.
    wait_until(lambda: mosquitto.wait_for_log("ingest-crash", 0.1), timeout=20, what="connect")
    device = mqtt_clients(mosquitto, METER_A)
    device.connect()
    recs = records(180)
    chunks = [recs[i : i + 3] for i in range(0, 180, 3)]

    def stored() -> int:
        return len(store.records(METER_A, START, START + DAY))

    for chunk in chunks[:30]:
        device.publish(uplink(METER_A), batch(METER_A, chunk))
    wait_until(lambda: stored() > 0, timeout=20, what="first records stored")
    run_ingest[0].send_signal(signal.SIGKILL)  # mid-stream: some stored, some not acked
    run_ingest[0].wait(10)
    at_kill = stored()
    assert 0 < at_kill < 180
    for chunk in chunks[30:]:  # arrive while ingest is dead
        device.publish(uplink(METER_A), batch(METER_A, chunk))

    run_ingest.append(_start(config, tmp_path, 2))
    wait_until(lambda: stored() == 180, timeout=60, what="all records after restart")
    assert store.records(METER_A, START, START + DAY) == recs
    counters = counter_at(recs)
    rows = store.energy(EnergyKey("meter", METER_A), "15min", START, START + 3 * 3600)
    assert len(rows) == 12
    for row in rows[1:]:
        assert row.import_wh == counters[row.end] - counters[row.start]
    run_ingest[1].send_signal(signal.SIGTERM)
    assert run_ingest[1].wait(15) == 0
    store.close()
