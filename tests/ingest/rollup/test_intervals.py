"""15-minute intervals: apportioning, exact sums, completeness, anomalies, backfill."""

from __future__ import annotations

import pytest

from ingest.rollup import (
    CounterReading,
    EnergyInterval,
    EventKind,
    affected_intervals,
    apportion,
    energy_intervals,
    window_readings,
)
from tests.ingest.rollup.helpers import MAX_WH_PER_S, WRAP32, steady, utc

R = CounterReading
T0 = utc(2026, 5, 4, 12)  # 12:00 UTC, an interval boundary


def rows(intervals: list[EnergyInterval]) -> list[tuple[int, int, float]]:
    """(minutes after T0, wh, completeness) — compact to compare with hand-computed tables."""
    return [((iv.start - T0) // 60, iv.wh, iv.completeness) for iv in intervals]


def test_one_minute_readings_hand_computed() -> None:
    # 12:00..12:30, +10 Wh per minute for 15 minutes, then +20 Wh per minute.
    readings = steady(T0, T0 + 900, 60, 10) + steady(T0 + 960, T0 + 1800, 60, 20, wh0=170)
    out = energy_intervals(readings, T0, T0 + 1800, max_wh_per_s=MAX_WH_PER_S)
    assert rows(out) == [(0, 150, 1.0), (15, 300, 1.0)]
    assert [(iv.end - iv.start) for iv in out] == [900, 900]


def test_reading_exactly_on_a_boundary_splits_nothing() -> None:
    out = energy_intervals(
        [R(T0, 0), R(T0 + 900, 90), R(T0 + 1800, 300)], T0, T0 + 1800, max_wh_per_s=MAX_WH_PER_S
    )
    assert rows(out) == [(0, 90, 1.0), (15, 210, 1.0)]


def test_difference_straddling_a_boundary_is_apportioned_by_time() -> None:
    # 12:10 -> 12:20 carries 600 Wh: 5 minutes in each quarter-hour, 300 + 300.
    readings = [R(T0 - 300, 0), R(T0 + 600, 900), R(T0 + 1200, 1500), R(T0 + 1800, 2100)]
    out = energy_intervals(readings, T0, T0 + 1800, max_wh_per_s=MAX_WH_PER_S)
    # First interval: 12:00..12:10 is 600 s of the 900 s difference (900 Wh) = 600 Wh,
    # plus 300 Wh of the straddling one; second: 300 + 600.
    assert rows(out) == [(0, 900, 1.0), (15, 900, 1.0)]


def test_largest_remainder_keeps_the_sum_exact() -> None:
    # 10 Wh over 150 s: 50 s and 100 s -> 3.33 and 6.67 -> 3 and 7.
    assert apportion(10, 850, 1000, 900) == [(0, 50, 3), (900, 100, 7)]
    # A tie (1 Wh over two equal halves) goes to the earlier interval.
    assert apportion(1, 800, 1000, 900) == [(0, 100, 1), (900, 100, 0)]
    # Three intervals, 7 Wh over 100 + 900 + 100 s.
    pieces = apportion(7, 800, 1900, 900)
    assert [p[1] for p in pieces] == [100, 900, 100]
    assert sum(p[2] for p in pieces) == 7
    assert [p[2] for p in pieces] == [1, 6, 0]


def test_apportion_rejects_empty_span() -> None:
    with pytest.raises(ValueError):
        apportion(1, 100, 100, 900)


def test_window_does_not_change_the_numbers() -> None:
    readings = [R(T0 - 100, 0), R(T0 + 850, 1001), R(T0 + 1000, 1011), R(T0 + 2700, 3000)]
    whole = energy_intervals(readings, T0, T0 + 2700, max_wh_per_s=MAX_WH_PER_S, max_gap_s=1800)
    middle = energy_intervals(
        readings, T0 + 900, T0 + 1800, max_wh_per_s=MAX_WH_PER_S, max_gap_s=1800
    )
    assert middle == whole[1:2]


def test_completeness_counts_only_covered_time() -> None:
    # Readings start at 12:05 and stop at 12:25: the first interval is 10/15 covered,
    # the second 10/15, and the third (12:30..12:45) has nothing.
    readings = steady(T0 + 300, T0 + 1500, 60, 6)
    out = energy_intervals(readings, T0, T0 + 2700, max_wh_per_s=MAX_WH_PER_S)
    assert rows(out) == [(0, 60, pytest.approx(2 / 3)), (15, 60, pytest.approx(2 / 3)), (30, 0, 0)]


def test_gap_longer_than_max_gap_is_not_covered_and_its_energy_is_reported() -> None:
    # 12:00..12:05 normal, then no reading until 12:50 (45 min > 15 min default).
    readings = [*steady(T0, T0 + 300, 60, 10), R(T0 + 3000, 950), R(T0 + 3600, 1050)]
    out = energy_intervals(readings, T0, T0 + 3600, max_wh_per_s=MAX_WH_PER_S)
    assert rows(out) == [
        (0, 50, pytest.approx(1 / 3)),
        (15, 0, 0),
        (30, 0, 0),
        (45, 100, pytest.approx(2 / 3)),
    ]
    (gap,) = out[3].events  # 12:50 lies in 12:45..13:00
    assert (gap.kind, gap.wh, gap.before, gap.after) == (
        EventKind.GAP,
        900,
        R(T0 + 300, 50),
        R(T0 + 3000, 950),
    )


def test_gap_up_to_max_gap_is_interpolated() -> None:
    # One lost 15-minute coarsened record: 30 minutes between readings.
    readings = [R(T0, 0), R(T0 + 1800, 600)]
    default = energy_intervals(readings, T0, T0 + 1800, max_wh_per_s=MAX_WH_PER_S)
    assert rows(default) == [(0, 0, 0), (15, 0, 0)]
    wider = energy_intervals(readings, T0, T0 + 1800, max_wh_per_s=MAX_WH_PER_S, max_gap_s=1800)
    assert rows(wider) == [(0, 300, 1.0), (15, 300, 1.0)]


def test_coarsened_records_land_in_whole_intervals() -> None:
    # 900 s records ending on quarter-hours: no interpolation at all.
    readings = [R(T0 + k * 900, wh) for k, wh in enumerate([0, 250, 250, 1000])]
    out = energy_intervals(readings, T0, T0 + 2700, max_wh_per_s=MAX_WH_PER_S)
    assert rows(out) == [(0, 250, 1.0), (15, 0, 1.0), (30, 750, 1.0)]


def test_rollover_of_a_32_bit_register_gives_the_true_energy() -> None:
    readings = steady(T0, T0 + 1800, 60, 100, wh0=WRAP32 - 1550)
    wrapped = [R(r.ts, r.wh % WRAP32) for r in readings]
    out = energy_intervals(wrapped, T0, T0 + 1800, max_wh_per_s=MAX_WH_PER_S, rollover_wh=WRAP32)
    assert rows(out) == [(0, 1500, 1.0), (15, 1500, 1.0)]
    (event,) = out[1].events  # wrapped between 12:15 and 12:16
    assert (event.kind, event.ts, event.wh) == (EventKind.ROLLOVER, T0 + 960, 100)
    assert (event.before.wh, event.after.wh) == (WRAP32 - 50, 50)
    assert out[0].events == ()


def test_reset_to_zero_meter_swap_is_never_negative() -> None:
    # Old meter at 8_000_000 Wh is swapped at 12:07 for a new one starting at 0.
    old = steady(T0, T0 + 420, 60, 20, wh0=8_000_000)
    new = steady(T0 + 480, T0 + 1800, 60, 20, wh0=3)
    out = energy_intervals(old + new, T0, T0 + 1800, max_wh_per_s=MAX_WH_PER_S, rollover_wh=WRAP32)
    # 12:07 -> 12:08 is unknown; everything else is 20 Wh per minute.
    assert rows(out) == [(0, 280, pytest.approx(14 / 15)), (15, 300, 1.0)]
    (event,) = out[0].events
    assert (event.kind, event.before.wh, event.after.wh) == (EventKind.RESET, 8_000_140, 3)


def test_swap_to_a_higher_count_is_never_huge() -> None:
    old = steady(T0, T0 + 420, 60, 20, wh0=5_000)
    new = steady(T0 + 480, T0 + 1800, 60, 20, wh0=77_000_000)
    out = energy_intervals(old + new, T0, T0 + 1800, max_wh_per_s=MAX_WH_PER_S)
    assert rows(out) == [(0, 280, pytest.approx(14 / 15)), (15, 300, 1.0)]
    assert [e.kind for e in out[0].events] == [EventKind.SPIKE]


def test_each_event_lands_in_exactly_one_interval() -> None:
    # The reset reading is at 12:15 exactly: it ends the 12:14..12:15 minute, so the
    # event belongs to 12:00..12:15 and not to the next interval.
    readings = [*steady(T0, T0 + 840, 60, 1, wh0=500), R(T0 + 900, 0), R(T0 + 960, 1)]
    out = energy_intervals(readings, T0, T0 + 1800, max_wh_per_s=MAX_WH_PER_S)
    assert [len(iv.events) for iv in out] == [1, 0]
    assert out[0].events[0].ts == T0 + 900


def test_no_readings_gives_empty_intervals() -> None:
    out = energy_intervals([], T0, T0 + 1800, max_wh_per_s=MAX_WH_PER_S)
    assert rows(out) == [(0, 0, 0), (15, 0, 0)]
    assert energy_intervals([], T0, T0, max_wh_per_s=MAX_WH_PER_S) == []


@pytest.mark.parametrize(
    ("start", "end", "interval_s"),
    [(T0 + 60, T0 + 900, 900), (T0, T0 + 899, 900), (T0 + 900, T0, 900), (T0, T0 + 900, 0)],
)
def test_misaligned_window_raises(start: int, end: int, interval_s: int) -> None:
    with pytest.raises(ValueError):
        energy_intervals([], start, end, interval_s, max_wh_per_s=MAX_WH_PER_S)


def test_hourly_intervals_work_too() -> None:
    out = energy_intervals(
        steady(T0, T0 + 7200, 900, 50), T0, T0 + 7200, 3600, max_wh_per_s=MAX_WH_PER_S
    )
    assert [(iv.wh, iv.completeness) for iv in out] == [(200, 1.0), (200, 1.0)]


# -- backfill ------------------------------------------------------------------


def test_affected_intervals_between_neighbours() -> None:
    # Neighbours 12:10 and 12:50; the new reading at 12:20 changes 12:00..13:00.
    got = affected_intervals(T0 + 1200, R(T0 + 600, 0), R(T0 + 3000, 9))
    assert list(got) == [T0, T0 + 900, T0 + 1800, T0 + 2700]


def test_affected_intervals_with_boundary_neighbours() -> None:
    # (12:15, 12:30]: only 12:15..12:30 — the span does not touch 12:00..12:15 or 12:30..
    got = affected_intervals(T0 + 1200, R(T0 + 900, 0), R(T0 + 1800, 9))
    assert list(got) == [T0 + 900]


def test_affected_intervals_at_the_edges() -> None:
    assert list(affected_intervals(T0 + 1200, None, R(T0 + 2000, 1))) == [T0 + 900, T0 + 1800]
    assert list(affected_intervals(T0 + 1200, R(T0 + 100, 1), None)) == [T0, T0 + 900]
    assert list(affected_intervals(T0 + 1200, None, None)) == []


@pytest.mark.parametrize(
    ("prev", "nxt"),
    [(R(T0 + 1200, 0), None), (None, R(T0 + 1200, 0)), (R(T0 + 1300, 0), R(T0 + 1400, 0))],
)
def test_affected_intervals_rejects_wrong_neighbours(
    prev: CounterReading | None, nxt: CounterReading | None
) -> None:
    with pytest.raises(ValueError):
        affected_intervals(T0 + 1200, prev, nxt)


def test_window_readings_picks_the_neighbours() -> None:
    readings = [R(T0 - 120, 0), R(T0 - 60, 1), R(T0 + 60, 2), R(T0 + 900, 3), R(T0 + 960, 4)]
    assert window_readings(readings, T0, T0 + 900) == readings[1:4]


# -- the worked examples of docs/rollups.md ----------------------------------------


def test_docs_apportioning_example() -> None:
    readings = [R(T0 + 420, 1000), R(T0 + 600, 1180), R(T0 + 1140, 1720), R(T0 + 1260, 1840)]
    out = energy_intervals(readings, T0, T0 + 1800, max_wh_per_s=10)
    assert rows(out) == [(0, 480, 480 / 900), (15, 360, 360 / 900)]


def test_docs_rollover_and_swap_examples() -> None:
    rolled = [R(T0 + 840, WRAP32 - 60), R(T0 + 900, WRAP32 - 10), R(T0 + 960, 40)]
    out = energy_intervals(rolled, T0, T0 + 1800, max_wh_per_s=10, rollover_wh=WRAP32)
    assert [(iv.wh, [e.kind for e in iv.events]) for iv in out] == [
        (50, []),
        (50, [EventKind.ROLLOVER]),
    ]
    swapped = [R(T0 + 840, 8_000_120), R(T0 + 900, 8_000_140), R(T0 + 960, 3), R(T0 + 1020, 23)]
    out = energy_intervals(swapped, T0, T0 + 1800, max_wh_per_s=10, rollover_wh=WRAP32)
    assert [(iv.wh, iv.completeness, [e.kind for e in iv.events]) for iv in out] == [
        (20, 60 / 900, []),
        (20, 60 / 900, [EventKind.RESET]),
    ]
