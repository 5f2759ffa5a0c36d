"""The uplink over MQTT 3.1.1, against the stack's in-process amqtt broker.

amqtt speaks 3.1.1 only (docs/decisions/0002-embedded-broker.md), so
``mqtt.protocol = "3.1.1"`` is what lets the one-command stack run without
Mosquitto. Records still leave the queue only after their PUBACK.
"""

from __future__ import annotations

import time

from edge_agent.queue import RecordQueue
from protocol import topics
from protocol.codec import decode_batch
from tests.integration.bare_uplink import bare_uplink, sample_record

DEVICE = "amqtt-3-1-1"


def test_records_arrive_over_mqtt_311_and_leave_the_queue_only_when_acknowledged(
    embedded_broker, mqtt_clients, tmp_path
):
    collector = mqtt_clients(embedded_broker, "collector")
    collector.connect()
    collector.subscribe(topics.uplink(DEVICE), qos=1)
    queue = RecordQueue(tmp_path / "q.sqlite3", max_bytes=16 << 20)
    for k in range(90):
        queue.put(sample_record(k))
    uplink = bare_uplink(
        embedded_broker.host,
        embedded_broker.port,
        DEVICE,
        queue,
        protocol="3.1.1",
        batch_max_records=30,
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
