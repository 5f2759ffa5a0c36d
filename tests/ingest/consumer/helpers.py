"""Shared helpers of the consumer tests: a registry with devices, records, a pipeline."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.records import START, minute_records
from ingest.config import MqttConfig
from ingest.consumer import Consumer
from ingest.deadletter import DeadLetterStore
from ingest.device_state import DeviceStateStore
from ingest.metrics import Metrics
from ingest.pipeline import Pipeline
from ingest.registry import DeviceState, Registry
from ingest.rollup_writer import SiteMeter
from ingest.store import TimeSeriesStore
from protocol import topics
from protocol.codec import Batch, Record, encode_batch

SITE = "site-1"
METER_A = "dev-a1"
METER_B = "dev-b2"
SUSPENDED = "dev-susp"
INSTALLED = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)


def make_registry(path: Path) -> Registry:
    """Two active meters at SITE and a suspended one elsewhere."""
    registry = Registry.open(f"sqlite:///{path}")
    registry.add_device(METER_A, SITE, "sdm630", installed_at=INSTALLED)
    registry.add_device(METER_B, SITE, "sdm630", installed_at=INSTALLED)
    registry.add_device(SUSPENDED, "site-2", "sdm630", installed_at=INSTALLED)
    registry.set_state(SUSPENDED, DeviceState.SUSPENDED)
    return registry


def site_meters(registry: Registry) -> Callable[[str], list[SiteMeter]]:
    def meters(site_id: str) -> list[SiteMeter]:
        return [
            SiteMeter(d.id, int(d.installed_at.timestamp()))
            for d in registry.list(site_id=site_id)
            if d.state != DeviceState.RETIRED
        ]

    return meters


def records(n: int, *, first_seq: int = 0, start: int = START, seed: int = 7) -> list[Record]:
    """``n`` realistic minute records with consecutive seqs from ``first_seq``."""
    out = minute_records(n, start=start, seed=seed)
    for i, r in enumerate(out):
        r.seq = first_seq + i
    return out


def batch(device_id: str, recs: list[Record]) -> bytes:
    return encode_batch(Batch(device_id, recs))


def uplink(device_id: str) -> str:
    return topics.uplink(device_id)


@dataclass
class Ingest:
    """One pipeline with its stores, as `myenergy-ingest run` wires it."""

    pipeline: Pipeline
    deadletters: DeadLetterStore
    state: DeviceStateStore
    metrics: Metrics


def make_ingest(
    store: TimeSeriesStore,
    registry: Registry,
    state_path: Path,
    clock: Callable[[], float] = time.time,
) -> Ingest:
    deadletters = DeadLetterStore(state_path)
    state = DeviceStateStore(state_path)
    metrics = Metrics()
    pipeline = Pipeline(
        store,
        registry,
        site_meters(registry),
        deadletters=deadletters,
        state=state,
        metrics=metrics,
        clock=clock,
    )
    return Ingest(pipeline, deadletters, state, metrics)


def mqtt_config(host: str, port: int, client_id: str = "ingest-test-1") -> MqttConfig:
    return MqttConfig(host=host, port=port, client_id=client_id, keepalive_s=10)


def start_consumer(ingest: Ingest, config: MqttConfig, **options: float) -> Consumer:
    consumer = Consumer(
        config,
        ingest.pipeline.handle,
        backoff_min_s=options.get("backoff_min_s", 0.1),
        backoff_max_s=options.get("backoff_max_s", 0.5),
        on_ack=ingest.metrics.acks.inc,
        batch_handler=ingest.pipeline.handle_batch,
        batch_max_messages=int(options.get("batch_max_messages", 500)),
        batch_max_delay_s=options.get("batch_max_delay_s", 0.1),
    )
    consumer.start()
    assert consumer.subscribed, "consumer did not subscribe"
    return consumer


def wait_until(condition: Callable[[], bool], timeout: float = 15.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or condition}")


def counter_at(recs: list[Record], channel: str = "e_imp_wh") -> dict[int, int]:
    """Counter readings by their time (end of each record's period)."""
    return {r.ts + r.period_s: r.counters[channel] for r in recs}
