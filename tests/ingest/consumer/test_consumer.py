"""The consumer against a real Mosquitto: exactly once, refusals, status, sharing, metrics."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.records import START
from ingest.consumer import Consumer
from ingest.registry import Registry
from ingest.store import EnergyKey, SqliteStore
from ingest.validate import DECODE_ERROR, DEVICE_MISMATCH, INACTIVE_DEVICE, UNKNOWN_DEVICE
from protocol import topics
from protocol.codec import encode_status
from tests.conftest import MqttClientFactory
from tests.fixtures.mosquitto import MosquittoBroker
from tests.fixtures.mqtt import Will
from tests.ingest.consumer.helpers import (
    METER_A,
    METER_B,
    SUSPENDED,
    Ingest,
    batch,
    counter_at,
    make_ingest,
    mqtt_config,
    records,
    start_consumer,
    uplink,
    wait_until,
)

DAY = 86400


@pytest.fixture
def consumers() -> Iterator[list[Consumer]]:
    started: list[Consumer] = []
    yield started
    for consumer in started:
        consumer.stop()


def test_batches_land_exactly_once_even_when_published_twice(
    mosquitto: MosquittoBroker,
    mqtt_clients: MqttClientFactory,
    ingest: Ingest,
    store: SqliteStore,
    consumers: list[Consumer],
) -> None:
    consumers.append(start_consumer(ingest, mqtt_config(mosquitto.host, mosquitto.port)))
    device = mqtt_clients(mosquitto, METER_A)
    device.connect()
    recs = records(90)
    payloads = [batch(METER_A, recs[i : i + 15]) for i in range(0, 90, 15)]
    for payload in payloads + payloads[:3]:  # the first three redelivered
        device.publish(uplink(METER_A), payload)
    wait_until(lambda: consumers[0].acked == 9, what="9 messages acked")
    assert store.records(METER_A, START, START + DAY) == recs
    counters = counter_at(recs)
    rows = store.energy(EnergyKey("meter", METER_A), "15min", START, START + 90 * 60)
    for row in rows[1:]:
        assert row.import_wh == counters[row.end] - counters[row.start]
    assert ingest.deadletters.count() == 0


def test_refused_messages_are_dead_lettered_acked_and_consumer_keeps_going(
    mosquitto: MosquittoBroker,
    mqtt_clients: MqttClientFactory,
    *,
    ingest: Ingest,
    registry: Registry,
    store: SqliteStore,
    tmp_path: Path,
    consumers: list[Consumer],
) -> None:
    consumer = start_consumer(ingest, mqtt_config(mosquitto.host, mosquitto.port))
    consumers.append(consumer)
    pub = mqtt_clients(mosquitto, "publisher")
    pub.connect()
    pub.publish(uplink(METER_A), batch(METER_B, records(5)))  # topic != payload
    pub.publish(uplink("dev-nobody"), batch("dev-nobody", records(5)))
    pub.publish(uplink(SUSPENDED), batch(SUSPENDED, records(5)))
    pub.publish(uplink(METER_A), b"MB\x01\x00truncated")
    pub.publish(uplink(METER_A), batch(METER_A, records(5)))  # still consumed afterwards
    wait_until(lambda: consumer.acked == 5, what="5 acks")
    reasons = [d.reason for d in ingest.deadletters.list()]
    assert reasons == [DEVICE_MISMATCH, UNKNOWN_DEVICE, INACTIVE_DEVICE, DECODE_ERROR]
    assert len(store.records(METER_A, START, START + DAY)) == 5
    # acked: a fresh session with the same id gets nothing redelivered
    consumer.stop()
    consumers.remove(consumer)
    again = make_ingest(store, registry, tmp_path / "state.sqlite3")
    second = start_consumer(again, mqtt_config(mosquitto.host, mosquitto.port))
    consumers.append(second)
    pub.publish(uplink(METER_A), batch(METER_A, records(1, first_seq=100, start=START + 3600)))
    wait_until(lambda: second.acked >= 1, what="new message")
    assert second.received == 1


def test_device_state_from_retained_status_and_last_will(
    mosquitto: MosquittoBroker,
    mqtt_clients: MqttClientFactory,
    ingest: Ingest,
    consumers: list[Consumer],
) -> None:
    # B published "online" before ingest ever ran: ingest learns it from the retained status.
    b = mqtt_clients(mosquitto, METER_B)
    b.connect()
    b.publish(topics.status(METER_B), encode_status({"state": "online"}), retain=True)
    consumer = start_consumer(ingest, mqtt_config(mosquitto.host, mosquitto.port))
    consumers.append(consumer)
    wait_until(lambda: (s := ingest.state.get(METER_B)) is not None and s.status == "online")
    state_b = ingest.state.get(METER_B)
    assert state_b is not None and state_b.last_seen is None  # a replay is not "seen"

    will = Will(topics.status(METER_A), encode_status({"state": "offline"}), 1, True)
    a = mqtt_clients(mosquitto, METER_A, will=will)
    a.connect()
    a.publish(topics.status(METER_A), encode_status({"state": "online"}), retain=True)
    wait_until(lambda: (s := ingest.state.get(METER_A)) is not None and s.status == "online")
    a.drop()  # connection lost: the broker publishes the last will
    wait_until(lambda: (s := ingest.state.get(METER_A)) is not None and s.status == "offline")
    state_a = ingest.state.get(METER_A)
    assert state_a is not None and state_a.last_seen is not None


def test_two_workers_share_the_uplink(
    mosquitto: MosquittoBroker,
    mqtt_clients: MqttClientFactory,
    *,
    registry: Registry,
    store: SqliteStore,
    tmp_path: Path,
    consumers: list[Consumer],
) -> None:
    workers = [make_ingest(store, registry, tmp_path / "state.sqlite3") for _ in range(2)]
    for i, worker in enumerate(workers):
        consumers.append(
            start_consumer(worker, mqtt_config(mosquitto.host, mosquitto.port, f"ingest-w{i}"))
        )
    device = mqtt_clients(mosquitto, METER_A)
    device.connect()
    recs = records(40)
    for i in range(40):
        device.publish(uplink(METER_A), batch(METER_A, recs[i : i + 1]))
    wait_until(lambda: sum(c.acked for c in consumers) == 40, what="40 acks")
    counts = [len(c.handled_topics) for c in consumers]
    assert all(n > 0 for n in counts), counts
    assert sum(counts) == 40  # together all, none twice
    assert sum(c.received for c in consumers) == 40
    assert store.records(METER_A, START, START + DAY) == recs


def test_metrics_endpoint_serves_counters(
    mosquitto: MosquittoBroker,
    mqtt_clients: MqttClientFactory,
    ingest: Ingest,
    consumers: list[Consumer],
) -> None:
    port = ingest.metrics.serve(0)
    # One message per store write, so the write histogram counts the two uplinks.
    config = mqtt_config(mosquitto.host, mosquitto.port)
    consumers.append(start_consumer(ingest, config, batch_max_messages=1))
    device = mqtt_clients(mosquitto, METER_A)
    device.connect()
    recs = records(20)
    device.publish(uplink(METER_A), batch(METER_A, recs[:10]))
    device.publish(uplink(METER_A), batch(METER_A, recs[15:]))  # seqs 10..14 missing
    device.publish(uplink(METER_A), b"garbage")
    wait_until(lambda: consumers[0].acked == 3)
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    assert 'myenergy_ingest_messages_total{kind="up"} 3.0' in text
    assert "myenergy_ingest_records_written_total 15.0" in text
    assert 'myenergy_ingest_dead_letters_total{reason="decode_error"} 1.0' in text
    assert "myenergy_ingest_sequence_gap_records 5.0" in text
    assert "myenergy_ingest_write_seconds_count 2.0" in text
    assert "myenergy_ingest_acks_total 3.0" in text
    assert "myenergy_ingest_consumer_lag_seconds" in text
    assert "myenergy_ingest_points_written_total" in text
