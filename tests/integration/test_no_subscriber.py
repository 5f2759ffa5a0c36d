"""A batch nobody is subscribed to is not delivered: the agent keeps it.

Mosquitto answers a v5 publish that matches no subscription with PUBACK 0x10 "No
matching subscribers", a success code. It happens for real after a broker restart:
Mosquitto does not restore a persistent session's *shared* subscription, so until
the ingest worker subscribes again, uplinks fall on the floor. The agent must treat
that as "not stored" and keep the records (found by tests/e2e).
"""

from __future__ import annotations

import time

from edge_agent.queue import RecordQueue
from protocol import topics
from protocol.codec import decode_batch
from tests.integration.bare_uplink import bare_uplink, sample_record

DEVICE = "nobody-listens"


def test_records_are_kept_until_a_subscriber_hears_them(mosquitto, mqtt_clients, tmp_path):
    from paho.mqtt.enums import MQTTProtocolVersion

    queue = RecordQueue(tmp_path / "q.sqlite3", max_bytes=16 << 20)
    for k in range(30):
        queue.put(sample_record(k))
    uplink = bare_uplink(mosquitto.host, mosquitto.port, DEVICE, queue, batch_max_records=15)
    uplink.start()
    try:
        deadline = time.monotonic() + 10
        while uplink.counters.batches_refused == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert uplink.counters.batches_refused >= 1  # PUBACK 0x10 came back
        assert queue.depth() == 30  # and nothing was deleted

        ingest = mqtt_clients(mosquitto, "ingest", protocol=MQTTProtocolVersion.MQTTv5)
        ingest.connect()
        ingest.subscribe(f"$share/ingest/{topics.uplink(DEVICE)}", qos=1)
        seqs: set[int] = set()
        while len(seqs) < 30:
            batch = decode_batch(bytes(ingest.expect_message(timeout=30).payload))
            seqs.update(r.seq for r in batch.records)
        deadline = time.monotonic() + 10
        while queue.depth() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert seqs == set(range(1, 31))
        assert queue.depth() == 0
    finally:
        uplink.stop()
        queue.close()
