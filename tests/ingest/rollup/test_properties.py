"""Properties over generated reading series (hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.rollup import (
    CounterReading,
    EventKind,
    affected_intervals,
    energy_intervals,
    local_buckets,
)
from tests.ingest.rollup.helpers import WRAP32, utc

R = CounterReading
Q = 900
MAX_WH_PER_S = 10.0  # 36 kW
BASE = utc(2026, 10, 24)  # the generated series may run over the 25-hour day
# (seconds to the next reading, Wh in it): never more than the physical limit
steps = st.lists(
    st.integers(1, Q).flatmap(
        lambda dt: st.tuples(st.just(dt), st.integers(0, int(MAX_WH_PER_S * dt)))
    ),
    min_size=1,
    max_size=120,
)


def build(start_ts: int, wh0: int, deltas: list[tuple[int, int]]) -> list[CounterReading]:
    out = [R(start_ts, wh0)]
    for dt, wh in deltas:
        out.append(R(out[-1].ts + dt, out[-1].wh + wh))
    return out


def window(readings: list[CounterReading]) -> tuple[int, int]:
    first, last = readings[0].ts, readings[-1].ts
    return first - first % Q, last - last % Q + Q


@settings(deadline=None)
@given(offset=st.integers(0, 2 * 86400), wh0=st.integers(0, 10**9), deltas=steps)
def test_interval_sums_equal_the_counter_difference(
    offset: int, wh0: int, deltas: list[tuple[int, int]]
) -> None:
    readings = build(BASE + offset, wh0, deltas)
    start, end = window(readings)
    out = energy_intervals(readings, start, end, max_wh_per_s=MAX_WH_PER_S)
    assert sum(iv.wh for iv in out) == readings[-1].wh - readings[0].wh
    assert all(iv.wh >= 0 and not iv.events for iv in out)
    # Intervals entirely between the first and last reading are fully covered.
    inner = [iv for iv in out if readings[0].ts <= iv.start and iv.end <= readings[-1].ts]
    assert all(iv.completeness == 1.0 for iv in inner)
    covered = sum(iv.completeness * Q for iv in out)
    assert round(covered) == readings[-1].ts - readings[0].ts
    # Local buckets lose nothing either.
    for unit in ("hour", "day", "month"):
        assert sum(b.wh for b in local_buckets(out, unit)) == sum(iv.wh for iv in out)


@settings(deadline=None)
@given(below_wrap=st.integers(1, 50_000), deltas=steps)
def test_32_bit_rollover_keeps_the_sum_exact(
    below_wrap: int, deltas: list[tuple[int, int]]
) -> None:
    true = build(BASE, WRAP32 - below_wrap, deltas)
    register = [R(r.ts, r.wh % WRAP32) for r in true]
    start, end = window(true)
    out = energy_intervals(register, start, end, max_wh_per_s=MAX_WH_PER_S, rollover_wh=WRAP32)
    assert sum(iv.wh for iv in out) == true[-1].wh - true[0].wh
    kinds = [e.kind for iv in out for e in iv.events]
    assert kinds == ([EventKind.ROLLOVER] if true[-1].wh >= WRAP32 else [])


# Arbitrary register values, including resets to ~0 and jumps to huge counts.
wild_values = st.one_of(st.integers(0, 1_000), st.integers(0, WRAP32 - 1), st.integers(0, 10**12))


@settings(deadline=None)
@given(
    points=st.lists(st.tuples(st.integers(1, 3 * Q), wild_values), min_size=2, max_size=60),
    rollover=st.sampled_from([None, WRAP32]),
)
def test_anomalies_never_give_negative_or_huge_energy(
    points: list[tuple[int, int]], rollover: int | None
) -> None:
    readings, ts = [], BASE
    for dt, wh in points:
        ts += dt
        readings.append(R(ts, wh if rollover is None else wh % rollover))
    start, end = window(readings)
    out = energy_intervals(readings, start, end, max_wh_per_s=MAX_WH_PER_S, rollover_wh=rollover)
    for iv in out:
        assert 0 <= iv.completeness <= 1
        # At most the physical maximum, plus a register step and a rounding Wh per difference.
        assert 0 <= iv.wh <= MAX_WH_PER_S * Q * iv.completeness + 2 * len(readings)
    # Every anomalous difference is reported exactly once.
    events = [e for iv in out for e in iv.events]
    assert len({(e.kind, e.ts) for e in events}) == len(events)


@settings(deadline=None)
@given(deltas=steps, data=st.data())
def test_sub_window_matches_the_whole(deltas: list[tuple[int, int]], data: st.DataObject) -> None:
    readings = build(BASE + 123, 0, deltas)
    start, end = window(readings)
    whole = energy_intervals(readings, start, end, max_wh_per_s=MAX_WH_PER_S)
    i = data.draw(st.integers(0, len(whole) - 1))
    j = data.draw(st.integers(i, len(whole)))
    part = energy_intervals(readings, start + i * Q, start + j * Q, max_wh_per_s=MAX_WH_PER_S)
    assert part == whole[i:j]


@settings(deadline=None)
@given(
    points=st.lists(st.tuples(st.integers(1, 2 * Q), wild_values), min_size=3, max_size=40),
    data=st.data(),
)
def test_a_late_reading_changes_only_the_affected_intervals(
    points: list[tuple[int, int]], data: st.DataObject
) -> None:
    readings, ts = [], BASE
    for dt, wh in points:
        ts += dt
        readings.append(R(ts, wh % WRAP32))
    k = data.draw(st.integers(0, len(readings) - 1))
    late = readings[k]
    without = readings[:k] + readings[k + 1 :]
    start, end = window(readings)
    before = energy_intervals(without, start, end, max_wh_per_s=MAX_WH_PER_S, rollover_wh=WRAP32)
    after = energy_intervals(readings, start, end, max_wh_per_s=MAX_WH_PER_S, rollover_wh=WRAP32)
    prev = readings[k - 1] if k > 0 else None
    nxt = readings[k + 1] if k + 1 < len(readings) else None
    affected = set(affected_intervals(late.ts, prev, nxt))
    changed = {b.start for b, a in zip(before, after, strict=True) if a != b}
    assert changed <= affected


@settings(deadline=None)
@given(
    first=st.integers(utc(2026, 3, 26), utc(2026, 3, 31))
    | st.integers(utc(2026, 10, 22), utc(2026, 10, 28)),
    days=st.integers(1, 4),
    drop=st.sets(st.integers(0, 500), max_size=40),
)
def test_day_buckets_across_dst(first: int, days: int, drop: set[int]) -> None:
    start = first - first % Q
    end = start + days * 86400
    readings = [
        R(ts, 7 * i + (i * i) % 13)
        for i, ts in enumerate(range(start, end + 1, 60))
        if i not in drop
    ]
    intervals = energy_intervals(readings, start, end, max_wh_per_s=MAX_WH_PER_S)
    buckets = local_buckets(intervals, "day")
    assert sum(b.wh for b in buckets) == sum(iv.wh for iv in intervals)
    for b in buckets:
        assert b.end - b.start in (23 * 3600, 24 * 3600, 25 * 3600)
        inside = [iv for iv in intervals if b.start <= iv.start < b.end]
        assert b.intervals == len(inside) <= (b.end - b.start) // Q
        covered = sum(iv.completeness * Q for iv in inside)
        assert b.completeness * (b.end - b.start) == pytest.approx(covered)
        assert 0 <= b.completeness <= 1
