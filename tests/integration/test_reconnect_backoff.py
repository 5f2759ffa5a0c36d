"""Reconnect backoff of the uplink: exponential, capped, jittered, reset by a success.

Pure arithmetic with a seeded random generator; the reconnects themselves are
exercised against real brokers in test_broker_restart.py and test_coverage_drop.py.
"""

from __future__ import annotations

import random

from edge_agent.uplink import Backoff


def test_first_attempt_is_immediate_then_doubles_with_jitter_up_to_the_cap() -> None:
    backoff = Backoff(1.0, 30.0, random.Random(1))
    delays = [backoff.next_delay() for _ in range(9)]
    assert delays[0] == 0.0
    steps = [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]
    for delay, step in zip(delays[1:], steps, strict=True):
        assert step / 2 <= delay <= step  # half fixed, half random: never zero
    backoff.reset()
    assert backoff.next_delay() == 0.0


def test_a_fleet_spreads_out() -> None:
    """Devices that lost the broker at the same moment do not come back in lockstep."""
    fleet = [Backoff(1.0, 300.0, random.Random(seed)) for seed in range(50)]
    for device in fleet:
        for _ in range(6):
            device.next_delay()
    seventh = [device.next_delay() for device in fleet]  # step 32 s: 16..32 s
    assert max(seventh) - min(seventh) > 8.0
    assert len({round(d, 1) for d in seventh}) > 40
