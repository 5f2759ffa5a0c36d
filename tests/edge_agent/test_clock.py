"""edge_agent.clock: clock quality, cloud re-anchoring, fake and accelerated clocks."""

from __future__ import annotations

import threading
import time

from edge_agent.clock import (
    AcceleratedClock,
    Clock,
    FakeClock,
    SystemClock,
    kernel_clock_synced,
)
from protocol.codec import CLOCK_ESTIMATED, CLOCK_SYNCED, CLOCK_UNANCHORED


class Switch:
    """A kernel sync state the test flips."""

    def __init__(self, synced: bool) -> None:
        self.synced = synced

    def __call__(self) -> bool:
        return self.synced


def test_clocks_satisfy_the_protocol() -> None:
    for clock in (SystemClock(), FakeClock(), AcceleratedClock(10.0)):
        assert isinstance(clock, Clock)


def test_kernel_state_is_readable_on_linux() -> None:
    # Read-only adjtimex needs no privilege; whatever the host's state, an answer.
    assert kernel_clock_synced() in (True, False)


def test_synced_kernel_means_synced_and_wall_time() -> None:
    clock = SystemClock(Switch(True))
    assert clock.quality() == CLOCK_SYNCED
    assert abs(clock.now() - time.time()) < 1.0
    assert clock.anchor(1_000.0) is None  # NTP wins over the cloud's time command
    assert abs(clock.now() - time.time()) < 1.0


def test_never_synced_with_a_plausible_rtc_time_is_estimated() -> None:
    clock = SystemClock(Switch(False))  # now is after the plausibility floor
    assert clock.quality() == CLOCK_ESTIMATED


def test_never_synced_is_unanchored_until_the_cloud_anchors_it() -> None:
    # a wall clock before the floor: the RTC lost its time
    clock = SystemClock(Switch(False), plausible_since=time.time() + 86400.0)
    assert clock.quality() == CLOCK_UNANCHORED
    target = time.time() + 3600.0
    step = clock.anchor(target)
    assert step is not None and abs(step - 3600.0) < 1.0
    assert abs(clock.now() - target) < 1.0
    assert clock.quality() == CLOCK_SYNCED  # a fresh anchor is real time


def test_stale_anchor_is_estimated() -> None:
    clock = SystemClock(Switch(False), anchor_fresh_s=-1.0)
    clock.anchor(time.time())
    assert clock.quality() == CLOCK_ESTIMATED


def test_lost_sync_is_estimated_and_regained_sync_drops_the_anchor() -> None:
    kernel = Switch(True)
    clock = SystemClock(kernel)
    assert clock.quality() == CLOCK_SYNCED
    kernel.synced = False
    assert clock.quality() == CLOCK_ESTIMATED  # we had real time since start
    clock.anchor(time.time() + 500.0)
    assert clock.now() - time.time() > 499.0
    kernel.synced = True
    assert abs(clock.now() - time.time()) < 1.0  # the anchor is gone for good
    kernel.synced = False
    assert abs(clock.now() - time.time()) < 1.0


def test_system_clock_wait_returns_when_stopped() -> None:
    stop = threading.Event()
    stop.set()
    assert SystemClock(Switch(True)).wait(stop, 60.0) is True


def test_fake_clock() -> None:
    clock = FakeClock(start=1_000.0, quality=CLOCK_ESTIMATED)
    mono = clock.monotonic()
    clock.advance(5.0)
    assert (clock.now(), clock.monotonic() - mono) == (1_005.0, 5.0)
    clock.set_wall(2_000.0)  # a step of the wall clock leaves monotonic alone
    assert (clock.now(), clock.monotonic() - mono) == (2_000.0, 5.0)
    assert clock.quality() == CLOCK_ESTIMATED
    clock.set_quality(CLOCK_SYNCED)
    assert clock.quality() == CLOCK_SYNCED
    stop = threading.Event()
    assert clock.wait(stop, 30.0) is False
    assert clock.now() == 2_030.0  # waiting lets fake time pass, instantly
    stop.set()
    assert clock.wait(stop, 30.0) is True
    assert clock.now() == 2_030.0


def test_accelerated_clock_runs_faster() -> None:
    clock = AcceleratedClock(1000.0, start=1_767_225_600.0)
    t0, m0 = clock.now(), clock.monotonic()
    assert t0 >= 1_767_225_600.0
    assert clock.wait(threading.Event(), 20.0) is False  # 20 ms of real time
    # Lower bounds only: a slow machine may take longer, never less.
    assert clock.now() - t0 >= 19.0
    assert clock.monotonic() - m0 >= 19.0
    assert clock.quality() == CLOCK_SYNCED
