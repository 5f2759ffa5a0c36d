"""Ingest throughput: agent batches through a local Mosquitto into a local InfluxDB.

Everything runs on loopback: Mosquitto (``simulators.broker.LocalMosquitto``) and
influxd (the test fixture's launcher, ``tests.fixtures.influxdb.InfluxServer``)
on free ports, a registry DB with several SDM630 meters on a few sites, and the
real consumer + pipeline (validation, store, rollups, device state).

Each scenario publishes the same realistic agent batches (``minute_records``,
15 or 60 records per message, QoS 1) into a fresh database and measures from
the first publish until every message was acknowledged by ingest. Printed beside
them, measured in the same run:

- **ceiling**: InfluxDB's own rate for the same records written directly in big
  chunks (``InfluxStore.write_records``, 5000-line requests): what the store can
  take when nothing else (MQTT, validation, rollups) is in the way;
- **naive**: one store write and one ack per message (the pre-batching design);
- **batched**: consecutive messages in one store write, acked after it, with one
  and with two workers (shared subscription; both in this process, so they
  share its GIL).
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from bench.records import START, minute_records
from edge_agent.logging_setup import configure_logging
from ingest.config import MqttConfig
from ingest.consumer import Consumer
from ingest.deadletter import DeadLetterStore
from ingest.device_state import DeviceStateStore
from ingest.metrics import Metrics
from ingest.pipeline import Pipeline
from ingest.registry import Registry
from ingest.rollup_writer import SiteMeter
from ingest.store import InfluxConfig, InfluxStore
from protocol import topics
from protocol.codec import Batch, Record, encode_batch
from simulators.broker import LocalMosquitto
from tests.fixtures.influxdb import InfluxServer

DEVICES = 8
DEVICES_PER_SITE = 2
MINUTES = 12 * 60  # per device: 8 x 720 = 5760 records per scenario
INSTALLED = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
CHUNK_RECORDS = 5000  # the ceiling's write size (InfluxDB's recommended batch)
TIMEOUT_S = 120.0


@contextmanager
def influx_server(work: Path) -> Iterator[InfluxServer]:
    """influxd on free loopback ports (the fixture's launcher), stopped afterwards."""
    server = InfluxServer(work / "influxd", name="bench-influxd")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def device_ids() -> list[str]:
    return [f"bench-m{i:02d}" for i in range(DEVICES)]


def site_of(device_id: str) -> str:
    return f"bench-site-{int(device_id[-2:]) // DEVICES_PER_SITE}"


def make_registry(path: Path) -> Registry:
    registry = Registry.open(f"sqlite:///{path}")
    for device in device_ids():
        registry.add_device(device, site_of(device), "sdm630", installed_at=INSTALLED)
    return registry


def site_meters(site_id: str) -> list[SiteMeter]:
    installed = int(INSTALLED.timestamp())
    return [SiteMeter(d, installed) for d in device_ids() if site_of(d) == site_id]


def device_records() -> dict[str, list[Record]]:
    """MINUTES records per device, each its own load profile, seqs from 0."""
    out: dict[str, list[Record]] = {}
    for i, device in enumerate(device_ids()):
        recs = minute_records(MINUTES, seed=100 + i, start=START)
        for seq, record in enumerate(recs):
            record.seq = seq
        out[device] = recs
    return out


def messages(recs: dict[str, list[Record]], per_message: int) -> list[tuple[str, bytes]]:
    """The agents' uplink messages, interleaved across devices as they would arrive."""
    per_device = {
        device: [
            (topics.uplink(device), encode_batch(Batch(device, rs[i : i + per_message])))
            for i in range(0, len(rs), per_message)
        ]
        for device, rs in recs.items()
    }
    out: list[tuple[str, bytes]] = []
    for i in range(max(len(v) for v in per_device.values())):
        out.extend(v[i] for v in per_device.values() if i < len(v))
    return out


def influx_config(server: InfluxServer) -> InfluxConfig:
    # A fresh database per scenario: a rewrite of existing points is not the same work.
    return InfluxConfig(url=server.url, database=f"bench_{uuid.uuid4().hex[:10]}")


def ceiling(server: InfluxServer, recs: dict[str, list[Record]]) -> float:
    """Records per second written straight into InfluxDB in big chunks."""
    store = InfluxStore(influx_config(server))
    store.init()
    total = sum(len(r) for r in recs.values())
    started = time.perf_counter()
    for device, rs in recs.items():
        for i in range(0, len(rs), CHUNK_RECORDS):
            store.write_records(device, site_of(device), "sdm630", rs[i : i + CHUNK_RECORDS])
    seconds = time.perf_counter() - started
    store.close()
    rate = total / seconds
    print(
        f"  ceiling: InfluxDB direct, {CHUNK_RECORDS}-record writes: {rate:8.0f} records/s "
        f"({total} records in {seconds:.2f} s)"
    )
    return rate


@dataclass
class _Worker:
    consumer: Consumer
    pipeline: Pipeline
    store: InfluxStore


def _workers(
    n: int, *, batched: bool, server: InfluxServer, broker_port: int, registry: Registry, work: Path
) -> list[_Worker]:
    config = influx_config(server)
    group = f"bench{uuid.uuid4().hex[:8]}"
    workers = []
    for i in range(n):
        store = InfluxStore(config)
        store.init()
        state = work / f"state-{group}-{i}.sqlite3"
        pipeline = Pipeline(
            store,
            registry,
            site_meters,
            deadletters=DeadLetterStore(state),
            state=DeviceStateStore(state),
            metrics=Metrics(),
        )
        mqtt_config = MqttConfig(
            host="127.0.0.1",
            port=broker_port,
            client_id=f"{group}-{i}",
            share_group=group,
            subscribe_live=False,
        )
        consumer = Consumer(
            mqtt_config,
            pipeline.handle,
            batch_handler=pipeline.handle_batch if batched else None,
        )
        workers.append(_Worker(consumer, pipeline, store))
    return workers


def through_ingest(
    label: str,
    msgs: list[tuple[str, bytes]],
    records_total: int,
    *,
    workers: int,
    batched: bool,
    server: InfluxServer,
    broker: LocalMosquitto,
    registry: Registry,
    work: Path,
) -> float:
    """Records per second from first publish to last ack through ``workers`` consumers."""
    running = _workers(
        workers,
        batched=batched,
        server=server,
        broker_port=broker.port,
        registry=registry,
        work=work,
    )
    for w in running:
        w.consumer.start()
    publisher = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:6]}")
    publisher.max_inflight_messages_set(100)
    publisher.connect("127.0.0.1", broker.port)
    publisher.loop_start()
    done = threading.Event()
    try:
        started = time.perf_counter()
        for topic, payload in msgs:
            publisher.publish(topic, payload, qos=1)
        deadline = started + TIMEOUT_S
        while sum(w.consumer.acked for w in running) < len(msgs):
            if time.perf_counter() > deadline:
                raise RuntimeError(f"{label}: not every message was acknowledged in time")
            done.wait(0.005)
        seconds = time.perf_counter() - started
        stored = sum(w.pipeline.metrics.records._value.get() for w in running)
        batches = sum(w.consumer.batches for w in running)
    finally:
        publisher.loop_stop()
        publisher.disconnect()
        for w in running:
            w.consumer.stop()
            w.store.close()
            w.pipeline.deadletters.close()
            w.pipeline.state.close()
    if int(stored) != records_total:
        raise RuntimeError(f"{label}: {stored:.0f} of {records_total} records stored")
    rate = records_total / seconds
    print(
        f"  {label:44s} {rate:8.0f} records/s ({len(msgs)} messages, {batches} store "
        f"batches, {seconds:.2f} s)"
    )
    return rate


def run() -> dict[str, float]:
    recs = device_records()
    total = sum(len(r) for r in recs.values())
    with tempfile.TemporaryDirectory(prefix="myenergy-bench-ingest-") as tmp:
        work = Path(tmp)
        registry = make_registry(work / "registry.sqlite3")
        with influx_server(work) as server, LocalMosquitto(state_dir=work / "broker") as broker:
            print(
                f"== ingest throughput: {DEVICES} SDM630 meters x {MINUTES} minute records "
                f"= {total} records, Mosquitto -> ingest -> InfluxDB (loopback) =="
            )
            top = ceiling(server, recs)
            common = {
                "server": server,
                "broker": broker,
                "registry": registry,
                "work": work,
            }
            by60 = messages(recs, 60)
            by15 = messages(recs, 15)
            naive = through_ingest(
                "naive, 1 worker, 60 rec/msg, write per message",
                by60,
                total,
                workers=1,
                batched=False,
                **common,  # type: ignore[arg-type]
            )
            naive15 = through_ingest(
                "naive, 1 worker, 15 rec/msg, write per message",
                by15,
                total,
                workers=1,
                batched=False,
                **common,  # type: ignore[arg-type]
            )
            one = through_ingest(
                "batched, 1 worker, 60 rec/msg",
                by60,
                total,
                workers=1,
                batched=True,
                **common,  # type: ignore[arg-type]
            )
            one15 = through_ingest(
                "batched, 1 worker, 15 rec/msg",
                by15,
                total,
                workers=1,
                batched=True,
                **common,  # type: ignore[arg-type]
            )
            two = through_ingest(
                "batched, 2 workers (shared sub), 60 rec/msg",
                by60,
                total,
                workers=2,
                batched=True,
                **common,  # type: ignore[arg-type]
            )
        registry.close()
    print(
        f"  1 worker / ceiling: {one / top:.0%} batched (target >= 50%), "
        f"{naive / top:.0%} naive; 2 workers / ceiling: {two / top:.0%}"
    )
    return {
        "ingest_ceiling": top,
        "ingest_naive": naive,
        "ingest_naive15": naive15,
        "ingest_one": one,
        "ingest_one15": one15,
        "ingest_two": two,
    }


if __name__ == "__main__":
    configure_logging("WARNING", "console", stream=sys.stderr)
    run()
