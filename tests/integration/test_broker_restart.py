"""d) The broker restarts (clean stop, persistence on) while the agent runs.

The agent sees its connection drop and reconnect attempts refused while the broker
is down; it keeps polling and queueing, reconnects with backoff when the broker
is back, resends what was in flight, and nothing is lost.
"""

from __future__ import annotations

import time
from pathlib import Path

from edge_agent.clock import AcceleratedClock
from tests.fixtures.mosquitto import MosquittoBroker
from tests.integration.harness import (
    T0,
    assert_no_gaps,
    collector,
    make_agent,
    start_meter,
    write_config,
)


def test_agent_survives_a_broker_restart(mosquitto: MosquittoBroker, tmp_path: Path) -> None:
    clock = AcceleratedClock(60, start=T0)
    meter = start_meter(clock)
    cloud = collector(mosquitto.host, mosquitto.port).start()
    config = write_config(tmp_path, serial_port=meter.path, mqtt_port=mosquitto.port)
    agent = make_agent(config, clock)
    agent.start()
    try:
        cloud.wait_until(lambda: len(cloud.records) >= 3, 30, "records before the restart")
        mosquitto.stop()
        time.sleep(3.0)  # three agent minutes with the broker down
        mosquitto.start()
        cloud.reconnect()  # persistent session: what came meanwhile was queued for it
        restarted = clock.now()
        cloud.wait_until(
            lambda: any(r.record.ts >= restarted for r in cloud.records),
            30,
            "records made after the restart",
        )
        last_seq = agent.queue.next_seq - 1
        cloud.wait_until(lambda: cloud.seqs() >= set(range(1, last_seq + 1)), 30, "every seq")
        connects = agent.uplink.counters.connects
    finally:
        agent.stop()
        meter.stop()

    assert connects >= 2
    assert_no_gaps(cloud.seqs(), last_seq)
    # duplicates (re-sends) collapse on (device, ts) to exactly one record per seq
    assert len(cloud.unique_records()) == len({r.record.seq for r in cloud.records})
