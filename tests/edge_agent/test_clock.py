"""edge_agent.clock: clock quality, cloud re-anchoring, fake and accelerated clocks."""

from __future__ import annotations

import threading
import time

import pytest

from edge_agent import clock as clock_module
from edge_agent.clock import (
    PLAUSIBLE_SINCE,
    AcceleratedClock,
    Clock,
    FakeClock,
    SystemClock,
    kernel_clock_synced,
)
from protocol.codec import CLOCK_ESTIMATED, CLOCK_SYNCED, CLOCK_UNANCHORED

RTC_LOST = 946_684_800.0  # 2000-01-01T00:00Z: what a module with a flat RTC battery reads
REAL = 1_772_445_600.0  # 2026-03-02T10:00Z: the real time


class Switch:
    """A kernel sync state the test flips."""

    def __init__(self, synced: bool) -> None:
        self.synced = synced

    def __call__(self) -> bool:
        return self.synced


class Host:
    """``time.time`` and ``time.monotonic`` as ``edge_agent.clock`` sees them, set by the test."""

    def __init__(self, wall: float, mono: float = 5_000.0) -> None:
        self.wall = wall
        self.mono = mono

    def time(self) -> float:
        return self.wall

    def monotonic(self) -> float:
        return self.mono

    def run(self, seconds: float) -> None:
        self.wall += seconds
        self.mono += seconds


@pytest.fixture
def host(monkeypatch: pytest.MonkeyPatch) -> Host:
    fake = Host(RTC_LOST)
    monkeypatch.setattr(clock_module, "time", fake)
    return fake


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


def test_unanchored_stamps_share_one_base_and_the_anchor_step_is_handed_out_once(
    host: Host,
) -> None:
    clock = SystemClock(Switch(False))
    assert clock.quality() == CLOCK_UNANCHORED
    assert clock.now() == RTC_LOST
    host.run(100.0)
    host.wall = RTC_LOST + 86_400.0  # an RTC read steps the wall clock, still implausible
    assert clock.now() == RTC_LOST + 100.0  # stamps stay on the monotonic clock's base
    assert clock.take_anchor_step() is None  # nothing learnt yet
    step = clock.anchor(REAL)
    assert step == REAL - (RTC_LOST + 100.0)
    assert clock.take_anchor_step() == step  # the same instant, read before and after
    assert clock.take_anchor_step() is None  # once
    assert (clock.now(), clock.quality()) == (REAL, CLOCK_SYNCED)
    host.run(60.0)
    clock.anchor(REAL + 70.0)  # a later anchor corrects the time, not old stamps
    assert clock.take_anchor_step() is None


def test_kernel_sync_after_unanchored_stamps_hands_out_the_step(host: Host) -> None:
    kernel = Switch(False)
    clock = SystemClock(kernel)
    assert clock.now() == RTC_LOST  # the base: wall - monotonic at this first reading
    host.run(60.0)
    host.wall = REAL  # chrony steps the clock and reports synchronisation
    kernel.synced = True
    assert clock.take_anchor_step() == REAL - (RTC_LOST + 60.0)
    assert clock.take_anchor_step() is None
    assert (clock.now(), clock.quality()) == (REAL, CLOCK_SYNCED)


def test_wall_clock_stepped_to_a_plausible_time_hands_out_the_step(host: Host) -> None:
    # A one-shot setter (ntpdate, date -s) leaves the kernel "unsynchronised" but the
    # time plausible: an estimate from then on, and the unanchored stamps follow it.
    clock = SystemClock(Switch(False))
    assert clock.quality() == CLOCK_UNANCHORED
    host.run(30.0)
    host.wall = REAL
    assert clock.quality() == CLOCK_ESTIMATED
    assert clock.take_anchor_step() == REAL - (RTC_LOST + 30.0)
    assert clock.take_anchor_step() is None


def test_no_anchor_step_for_a_clock_never_unanchored(host: Host) -> None:
    host.wall = REAL
    synced = SystemClock(Switch(True))
    assert (synced.quality(), synced.take_anchor_step()) == (CLOCK_SYNCED, None)
    plausible = SystemClock(Switch(False))
    assert plausible.quality() == CLOCK_ESTIMATED
    assert plausible.anchor(REAL + 5.0) == 5.0
    assert plausible.take_anchor_step() is None  # its stamps already were real time
    assert REAL >= PLAUSIBLE_SINCE  # the premise


def test_fake_clock_anchor_step() -> None:
    clock = FakeClock(start=RTC_LOST, quality=CLOCK_UNANCHORED)
    assert clock.take_anchor_step() is None
    clock.advance(90.0)
    assert clock.anchor(REAL) == REAL - RTC_LOST - 90.0
    assert (clock.now(), clock.quality()) == (REAL, CLOCK_SYNCED)
    assert clock.take_anchor_step() == REAL - RTC_LOST - 90.0
    assert clock.take_anchor_step() is None
    assert clock.anchor(REAL + 10.0) == 10.0  # already synced: no step for old stamps
    assert clock.take_anchor_step() is None
    assert AcceleratedClock(10.0).take_anchor_step() is None


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
