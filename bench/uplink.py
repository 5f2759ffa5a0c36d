"""Uplink benchmarks: bytes on the wire for a month, and a day's backlog delivered.

Both drive the agent's real uplink (``edge_agent.uplink.Uplink``: paho-mqtt, QoS 1,
PUBACK before delete) from its real durable queue, against a local Mosquitto:

- **bytes per month**: 30 days of 1-minute SDM630 records (from the simulator's
  load model, see ``bench.records``) go through the link proxy, which counts every
  byte in both directions (MQTT framing, PUBACKs, pings included). Batches are the
  steady-state size (``upload_interval_s`` / 60 records). Beside it, the naive
  baseline: one JSON message per 1-second reading, measured for an hour through the
  same proxy and scaled to 30 days.
- **backlog**: 24 hours of records queued while offline, delivered to Mosquitto
  (every PUBACK received, the queue empty and a subscriber holding every record).
"""

from __future__ import annotations

import json
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from bench.records import minute_records
from edge_agent.queue import RecordQueue
from edge_agent.uplink import Uplink
from protocol import topics
from protocol.codec import Record, decode_batch
from simulators.broker import LocalMosquitto
from simulators.link import LinkProxy
from tests.integration.bare_uplink import bare_uplink

DEVICE = "bench-sdm630-1"
MONTH_MINUTES = 30 * 24 * 60
DAY_MINUTES = 24 * 60
BUDGET_BYTES = 2_000_000


class Collector:
    """A subscriber that decodes every uplink batch and keeps the seqs it saw."""

    def __init__(self, port: int) -> None:
        self.seqs: set[int] = set()
        self.messages = 0
        self.done = threading.Event()
        self.expected = 0
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-collector")
        self._client.on_message = self._on_message
        self._client.connect("127.0.0.1", port)
        self._client.subscribe(topics.uplink(DEVICE), qos=1)
        self._client.loop_start()

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        batch = decode_batch(bytes(msg.payload))
        self.messages += 1
        self.seqs.update(r.seq for r in batch.records)
        if self.expected and len(self.seqs) >= self.expected:
            self.done.set()

    def close(self) -> None:
        self._client.loop_stop()
        self._client.disconnect()


def _fill(queue: RecordQueue, records: list[Record]) -> None:
    for record in records:
        queue.put(record)


def _uplink(port: int, queue: RecordQueue, batch: int) -> Uplink:
    return bare_uplink(
        "127.0.0.1", port, DEVICE, queue, batch_max_records=batch, fresh_window_s=0.0
    )


def _drain(uplink: Uplink, queue: RecordQueue, collector: Collector, timeout: float) -> float:
    start = time.perf_counter()
    uplink.start()
    if not collector.done.wait(timeout):
        raise RuntimeError(f"only {len(collector.seqs)} of {collector.expected} records arrived")
    while queue.depth() and time.perf_counter() - start < timeout:
        time.sleep(0.01)  # the last PUBACKs are in flight
    return time.perf_counter() - start


def month_bytes(broker: LocalMosquitto, work: Path, batch: int) -> dict[str, float]:
    records = minute_records(MONTH_MINUTES)
    queue = RecordQueue(work / f"month-{batch}.sqlite3", max_bytes=1 << 30)
    _fill(queue, records)
    collector = Collector(broker.port)
    collector.expected = len(records)
    with LinkProxy("127.0.0.1", 0, "127.0.0.1", broker.port) as proxy:
        uplink = _uplink(proxy.port, queue, batch)
        try:
            _drain(uplink, queue, collector, timeout=600)
        finally:
            uplink.stop()
        stats = proxy.stats()
    collector.close()
    queue.close()
    wire = stats.bytes_up + stats.bytes_down
    print(
        f"  batches of {batch:3d} records: {wire / 1e6:.3f} MB on the wire per 30 days "
        f"({wire / len(records):.1f} B/record; up {stats.bytes_up}, down {stats.bytes_down}; "
        f"{collector.messages} messages, {len(collector.seqs)} records arrived)"
    )
    return {"bytes": wire}


def naive_bytes(broker: LocalMosquitto) -> float:
    """One JSON message per 1-second reading, QoS 1, for an hour, scaled to 30 days."""
    records = minute_records(60)
    readings = []
    for r in records:
        for s in range(60):
            reading: dict[str, Any] = {"device": DEVICE, "ts": r.ts + s}
            reading.update({c: round(v[0], 3) for c, v in r.stats.items()})
            reading.update(r.counters)
            readings.append(json.dumps(reading).encode())
    with LinkProxy("127.0.0.1", 0, "127.0.0.1", broker.port) as proxy:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-naive")
        client.connect("127.0.0.1", proxy.port)
        client.loop_start()
        infos = [client.publish(f"naive/{DEVICE}", body, qos=1) for body in readings]
        for info in infos:
            info.wait_for_publish(30)
        client.loop_stop()
        client.disconnect()
        time.sleep(0.2)
        stats = proxy.stats()
    hour = stats.bytes_up + stats.bytes_down
    month = hour * 24 * 30
    print(
        f"  naive baseline (one JSON message per 1-s reading, QoS 1): "
        f"{month / 1e6:.1f} MB per 30 days (measured {hour} B for one hour, x720)"
    )
    return month


def backlog(broker: LocalMosquitto, work: Path) -> float:
    records = minute_records(DAY_MINUTES, seed=9)
    queue = RecordQueue(work / "backlog.sqlite3", max_bytes=1 << 30)
    _fill(queue, records)
    collector = Collector(broker.port)
    collector.expected = len(records)
    uplink = _uplink(broker.port, queue, 60)
    try:
        seconds = _drain(uplink, queue, collector, timeout=120)
    finally:
        uplink.stop()
    collector.close()
    queue.close()
    print(f"== backlog: 24 h of 1-minute records ({len(records)}) to local Mosquitto ==")
    print(
        f"  delivered and acknowledged in {seconds:.2f} s (target < 10 s); "
        f"{len(collector.seqs)} records arrived, queue depth {queue_depth_after(work)}"
    )
    return seconds


def queue_depth_after(work: Path) -> int:
    with RecordQueue(work / "backlog.sqlite3", max_bytes=1 << 30) as q:
        return q.depth()


def run() -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="myenergy-bench-") as tmp:
        work = Path(tmp)
        with LocalMosquitto(state_dir=work / "broker") as broker:
            print("== uplink bytes per meter per 30 days of 1-minute records (SDM630) ==")
            steady = month_bytes(broker, work, 15)
            month_bytes(broker, work, 60)
            naive = naive_bytes(broker)
            print(
                f"  steady state (15-minute uploads): {steady['bytes'] / 1e6:.3f} MB "
                f"(budget {BUDGET_BYTES / 1e6:.0f} MB), {naive / steady['bytes']:.0f}x "
                "less than the naive baseline"
            )
            seconds = backlog(broker, work)
    return {"month_bytes": steady["bytes"], "naive_bytes": naive, "backlog_s": seconds}


if __name__ == "__main__":
    run()
