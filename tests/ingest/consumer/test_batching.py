"""Batching across messages: one store write for many messages, acks only after it.

The pipeline part runs on the real SQLite store (``handle_batch`` against the
per-message path: same records, same rollups, far fewer writes); the consumer
part against a real Mosquitto with a store that counts its writes, can hold
them (nothing acked until the write returns) and can fail half-way through a
batch (nothing acked, nothing lost, nothing duplicated once it recovers).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from bench.records import START
from ingest.config import load_config
from ingest.consumer import Consumer
from ingest.registry import Registry
from ingest.store import EnergyKey, SqliteStore, StoreWriteError
from ingest.store.rows import ENERGY_UNITS
from ingest.validate import DECODE_ERROR
from protocol.codec import Record
from tests.conftest import MqttClientFactory
from tests.fixtures.mosquitto import MosquittoBroker
from tests.ingest.consumer.helpers import (
    METER_A,
    METER_B,
    SITE,
    batch,
    make_ingest,
    mqtt_config,
    records,
    start_consumer,
    uplink,
    wait_until,
)

DAY = 86400


class CountingStore(SqliteStore):
    """A SqliteStore that counts record writes, can hold them, and can fail them.

    While ``failing``, METER_B's writes raise: a batch of both meters is written
    half-way (METER_A's records are in the store, the batch failed).
    """

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.record_writes = 0
        self.gate = threading.Event()
        self.gate.set()
        self.failing = False
        self.failures = 0
        self.events: list[str] = []

    def write_records(
        self, device_id: str, site_id: str, meter: str, records: Iterable[Record]
    ) -> None:
        self.gate.wait(30)
        if self.failing and device_id == METER_B:
            self.failures += 1
            raise StoreWriteError("influx is down (test)")
        super().write_records(device_id, site_id, meter, records)
        self.record_writes += 1
        self.events.append("write")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[CountingStore]:
    s = CountingStore(tmp_path / "ts.sqlite3")
    s.init()
    yield s
    s.close()


@pytest.fixture
def consumers() -> Iterator[list[Consumer]]:
    started: list[Consumer] = []
    yield started
    for consumer in started:
        consumer.stop()


def _energy(store: SqliteStore) -> list[object]:
    keys = (EnergyKey("meter", METER_A), EnergyKey("meter", METER_B), EnergyKey("site", SITE))
    return [
        store.energy(key, unit, START - 40 * DAY, START + 40 * DAY)
        for key in keys
        for unit in ENERGY_UNITS
    ]


def _messages(n: int, per_message: int) -> tuple[list[tuple[str, bytes, bool]], list[Record]]:
    """n uplinks of each of two meters, interleaved; and METER_A's records."""
    recs_a = records(n * per_message)
    recs_b = records(n * per_message, seed=8)
    msgs = []
    for i in range(0, n * per_message, per_message):
        msgs.append((uplink(METER_A), batch(METER_A, recs_a[i : i + per_message]), False))
        msgs.append((uplink(METER_B), batch(METER_B, recs_b[i : i + per_message]), False))
    return msgs, recs_a


def test_one_batch_stores_and_rolls_up_exactly_like_one_message_at_a_time(
    registry: Registry, tmp_path: Path
) -> None:
    msgs, recs_a = _messages(20, 3)
    msgs.insert(7, (uplink(METER_A), b"garbage", False))
    stores = []
    for name in ("single", "batched"):
        store = CountingStore(tmp_path / f"{name}.sqlite3")
        store.init()
        ingest = make_ingest(store, registry, tmp_path / f"{name}-state.sqlite3")
        if name == "single":
            outcomes = [ingest.pipeline.handle(*m) for m in msgs]
        else:
            outcomes = ingest.pipeline.handle_batch(msgs)
        assert [o.records for o in outcomes] == [0 if p == b"garbage" else 3 for _, p, _ in msgs]
        assert outcomes[7].dead_letters == [DECODE_ERROR]
        assert ingest.deadletters.count(DECODE_ERROR) == 1
        assert ingest.state.missing_total() == 0
        stores.append(store)
    single, batched = stores
    assert single.record_writes == 40
    assert batched.record_writes == 2  # one per device
    for store in stores:
        assert store.records(METER_A, START, START + DAY) == recs_a
    assert _energy(batched) == _energy(single)
    for store in stores:
        store.close()


def test_many_small_messages_fewer_writes_all_acked_only_after_the_write(
    mosquitto: MosquittoBroker,
    mqtt_clients: MqttClientFactory,
    *,
    registry: Registry,
    store: CountingStore,
    tmp_path: Path,
    consumers: list[Consumer],
) -> None:
    ingest = make_ingest(store, registry, tmp_path / "state.sqlite3")
    events = store.events
    consumer = start_consumer(ingest, mqtt_config(mosquitto.host, mosquitto.port))
    consumer.on_ack = lambda: events.append("ack")
    consumers.append(consumer)
    store.gate.clear()  # writes wait: nothing may be acked meanwhile
    device = mqtt_clients(mosquitto, METER_A)
    device.connect()
    recs = records(60)
    for i in range(0, 60, 2):
        device.publish(uplink(METER_A), batch(METER_A, recs[i : i + 2]))
    # Mosquitto sends 20 un-acked messages at most (max_inflight_messages).
    wait_until(lambda: consumer.received >= 20, what="20 messages received")
    assert consumer.acked == 0
    assert store.record_writes == 0
    store.gate.set()
    wait_until(lambda: consumer.acked == 30, what="30 messages acked")
    assert store.record_writes < 30 / 3  # the first message alone, then the rest together
    assert consumer.batches == store.record_writes
    # Each batch's acks come after its write: the log is write, ack..., write, ack...
    assert events[0] == "write"
    assert events.count("write") == store.record_writes
    assert store.records(METER_A, START, START + DAY) == recs


def test_outage_mid_batch_acks_nothing_and_loses_nothing(
    mosquitto: MosquittoBroker,
    mqtt_clients: MqttClientFactory,
    *,
    registry: Registry,
    store: CountingStore,
    tmp_path: Path,
    consumers: list[Consumer],
) -> None:
    ingest = make_ingest(store, registry, tmp_path / "state.sqlite3")
    # A long gathering delay: all 20 messages form the first batch.
    config = mqtt_config(mosquitto.host, mosquitto.port)
    consumer = start_consumer(ingest, config, batch_max_delay_s=3.0)
    consumers.append(consumer)
    store.failing = True  # METER_A's write succeeds, METER_B's fails: half a batch
    msgs, recs_a = _messages(10, 6)
    a, b = mqtt_clients(mosquitto, METER_A), mqtt_clients(mosquitto, METER_B)
    a.connect()
    b.connect()
    for topic, payload, _ in msgs:
        (a if METER_A in topic else b).publish(topic, payload)
    wait_until(lambda: store.failures >= 3, what="three failed attempts")
    assert consumer.acked == 0
    assert consumer.received == 20
    assert ingest.deadletters.count() == 0
    assert consumer.retries >= 3
    store.failing = False
    wait_until(lambda: consumer.acked == 20, what="20 messages acked")
    assert store.records(METER_A, START, START + DAY) == recs_a
    assert len(store.records(METER_B, START, START + DAY)) == 60
    assert ingest.deadletters.count() == 0
    rows = store.energy(EnergyKey("site", SITE), "15min", START, START + DAY)
    assert rows and all(r.completeness > 0 for r in rows[1:])


def test_batch_limits_are_configurable() -> None:
    config = load_config(
        None,
        {
            "MYENERGY_INGEST_BATCH_MAX_MESSAGES": "7",
            "MYENERGY_INGEST_BATCH_MAX_BYTES": "1000",
            "MYENERGY_INGEST_BATCH_MAX_DELAY_MS": "0",
        },
    )
    assert (config.batch.max_messages, config.batch.max_bytes, config.batch.max_delay_ms) == (
        7,
        1000,
        0,
    )
