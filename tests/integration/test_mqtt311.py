"""The uplink over MQTT 3.1.1, against the stack's in-process amqtt broker.

amqtt speaks 3.1.1 only (docs/decisions/0002-embedded-broker.md), so
``mqtt.protocol = "3.1.1"`` is what lets the one-command stack run without
Mosquitto. Records still leave the queue only after their PUBACK.
"""

from __future__ import annotations

import time

from edge_agent.clock import SystemClock
from edge_agent.config import MqttConfig, TlsConfig
from edge_agent.queue import RecordQueue
from edge_agent.uplink import Uplink
from protocol import topics
from protocol.codec import CLOCK_SYNCED, Record, decode_batch

DEVICE = "amqtt-3-1-1"
T0 = 1_780_272_000


def _record(k: int) -> Record:
    return Record(
        0,
        T0 + 60 * k,
        clock=CLOCK_SYNCED,
        samples=60,
        expected=60,
        stats={"p_total_w": (1000.0 + k, 900.0, 1100.0 + k)},
        counters={"e_imp_wh": 5_000_000 + 17 * k},
    )


def test_records_arrive_over_mqtt_311_and_leave_the_queue_only_when_acknowledged(
    embedded_broker, mqtt_clients, tmp_path
):
    collector = mqtt_clients(embedded_broker, "collector")
    collector.connect()
    collector.subscribe(topics.uplink(DEVICE), qos=1)
    queue = RecordQueue(tmp_path / "q.sqlite3", max_bytes=16 << 20)
    for k in range(90):
        queue.put(_record(k))
    cfg = MqttConfig(
        host=embedded_broker.host,
        port=embedded_broker.port,
        protocol="3.1.1",
        tls=TlsConfig(enabled=False),
        batch_max_records=30,
        upload_interval_s=0.2,
    )
    uplink = Uplink(
        cfg,
        DEVICE,
        queue,
        SystemClock(),
        status_fn=lambda state: None,
        last_will={"state": "offline"},
        on_command=lambda payload, retained: None,
    )
    uplink.start()
    try:
        seqs: set[int] = set()
        while len(seqs) < 90:
            batch = decode_batch(bytes(collector.expect_message(timeout=20).payload))
            assert batch.device_id == DEVICE
            seqs.update(r.seq for r in batch.records)
        deadline = time.monotonic() + 10
        while queue.depth() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert seqs == set(range(1, 91))
        assert queue.depth() == 0
    finally:
        uplink.stop()
        queue.close()
