"""Manual ack against a real InfluxDB: a store outage loses nothing and duplicates nothing.

While influxd is stopped nothing is acknowledged: the consumer retries the
message in hand (ingest retries before acking). Then the worker itself is
stopped with the message un-acked, the store comes back, and a new worker with
the same client id gets everything from its persistent session (the broker
redelivers) — each record lands exactly once.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.records import START
from ingest.registry import Registry
from ingest.store import EnergyKey, InfluxConfig, TimeSeriesStore, open_store
from tests.conftest import MqttClientFactory
from tests.fixtures.influxdb import InfluxServer
from tests.fixtures.mosquitto import MosquittoBroker
from tests.ingest.consumer.helpers import (
    METER_A,
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
def influx_store(influxdb: InfluxServer) -> Iterator[TimeSeriesStore]:
    config = InfluxConfig(
        url=influxdb.url,
        database=f"ingest_{uuid.uuid4().hex[:8]}",
        retries=0,
        timeout_s=2.0,
        connect_timeout_s=0.5,
    )
    store = open_store(config)
    yield store
    if not influxdb.running:
        influxdb.start()  # the fixture is shared by the session
    store.close()


def test_store_outage_nothing_acked_then_everything_once(
    mosquitto: MosquittoBroker,
    mqtt_clients: MqttClientFactory,
    *,
    influxdb: InfluxServer,
    influx_store: TimeSeriesStore,
    registry: Registry,
    tmp_path: Path,
) -> None:
    config = mqtt_config(mosquitto.host, mosquitto.port, "ingest-outage")
    ingest = make_ingest(influx_store, registry, tmp_path / "state.sqlite3")
    consumer = start_consumer(ingest, config)
    device = mqtt_clients(mosquitto, METER_A)
    device.connect()
    recs = records(60)
    chunks = [recs[i : i + 15] for i in range(0, 60, 15)]
    try:
        device.publish(uplink(METER_A), batch(METER_A, chunks[0]))
        wait_until(lambda: consumer.acked == 1, what="first batch acked")

        influxdb.stop()
        for chunk in chunks[1:3]:
            device.publish(uplink(METER_A), batch(METER_A, chunk))
        wait_until(lambda: consumer.retries >= 3, what="retries while the store is down")
        assert consumer.acked == 1  # nothing acknowledged while the store is down
        assert ingest.metrics.value("myenergy_ingest_store_failures_total") >= 3

        # The worker goes away with its message un-acked; more data arrives meanwhile.
        consumer.stop()
        device.publish(uplink(METER_A), batch(METER_A, chunks[3]))
        influxdb.start()

        again = make_ingest(influx_store, registry, tmp_path / "state.sqlite3")
        second = start_consumer(again, config)
        try:
            wait_until(lambda: second.acked >= 3, timeout=30, what="redelivered batches")
        finally:
            second.stop()
    finally:
        if not influxdb.running:
            influxdb.start()
    assert influx_store.records(METER_A, START, START + DAY) == recs
    counters = counter_at(recs)
    rows = influx_store.energy(EnergyKey("meter", METER_A), "15min", START, START + 3600)
    assert len(rows) == 4
    for row in rows[1:]:
        assert row.import_wh == counters[row.end] - counters[row.start]
