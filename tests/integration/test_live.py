"""h) Live mode: the portal asks, 1-second power samples flow at QoS 0, then stop by themselves.

The agent and the meter run on a 10x clock, so a one-minute live window lasts
six real seconds. The samples are the meter's per-phase power at that second
(checked against the load model), about one per second of agent time, and none
come once the window has closed; ``live_stop`` ends a window early.
"""

from __future__ import annotations

import itertools
import time
from pathlib import Path

from edge_agent.clock import AcceleratedClock
from edge_agent.live import LIVE_CHANNELS
from protocol import topics
from protocol.codec import encode_command
from tests.fixtures.mosquitto import MosquittoBroker
from tests.integration.harness import (
    DEVICE,
    T0,
    collector,
    make_agent,
    resolution_tolerance,
    start_meter,
    write_config,
)

SPEED = 10.0


def test_live_window_opens_streams_and_closes_by_itself(
    mosquitto: MosquittoBroker, tmp_path: Path
) -> None:
    clock = AcceleratedClock(SPEED, start=T0)
    meter = start_meter(clock)
    cloud = collector(mosquitto.host, mosquitto.port).start()
    config = write_config(
        tmp_path,
        serial_port=meter.path,
        mqtt_port=mosquitto.port,
        extra={"live": {"max_minutes": 2, "default_minutes": 1}},
    )
    agent = make_agent(config, clock)
    agent.start()
    command = topics.command(DEVICE)
    try:
        cloud.wait_until(lambda: agent.uplink.connected and agent.polls > 3, 15, "the agent")
        cloud.drain(0.2)
        assert cloud.live == []  # nobody watching: nothing streams

        asked = clock.now()
        cloud.client.publish(command, encode_command({"cmd": "live", "minutes": 1}), qos=1)
        cloud.wait_until(lambda: len(cloud.live) >= 5, 10, "live samples")
        time.sleep(60 / SPEED + 1.0)  # the window, and a little more
        cloud.drain(0.2)
        during = list(cloud.live)
        time.sleep(2.0)  # 20 more agent seconds
        cloud.drain(0.2)
        after = cloud.live[len(during) :]

        # A long request is capped, and live_stop ends it early.
        cloud.client.publish(command, encode_command({"cmd": "live", "minutes": 600}), qos=1)
        cloud.wait_until(lambda: len(cloud.live) > len(during) + 3, 10, "live again")
        capped_until = agent.live.until()
        cloud.client.publish(command, encode_command({"cmd": "live_stop"}), qos=1)
        time.sleep(0.5)
        cloud.drain(0.2)
        stopped_at = len(cloud.live)
        time.sleep(1.0)
        cloud.drain(0.2)
        after_stop = len(cloud.live) - stopped_at
    finally:
        agent.stop()
        meter.stop()

    assert after == [], "samples kept coming after the window closed"
    assert after_stop == 0, "samples kept coming after live_stop"
    assert capped_until is not None and capped_until <= clock.now() + 2 * 60

    stamps = [ts / 1000 for ts, _, _ in during]
    assert all(qos == 0 for _, _, qos in during)
    assert stamps == sorted(stamps)
    # (a poll that started just before the command arrived may carry the first sample)
    assert asked - 1.5 <= stamps[0] and stamps[-1] <= asked + 60 + 2
    # about one sample per second of the window (the poll grid), never two in one
    assert 40 <= len(during) <= 61
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert min(gaps) >= 0.9
    for ts, values, _ in during:
        assert set(values) == set(LIVE_CHANNELS)
        # the meter answers a few real ms after the poll began: that step or the next
        steps = [meter.load.instant_at(ts / 1000 + dt) for dt in (0.0, 0.5, 1.0)]
        for name, value in values.items():
            assert any(
                abs(value - truth[name]) <= resolution_tolerance(truth[name], 1.0)
                for truth in steps
            ), (ts, name, value)
