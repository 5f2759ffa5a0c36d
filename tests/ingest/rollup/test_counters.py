"""Classification of counter differences: normal, rollover, reset, spike, gap."""

from __future__ import annotations

from typing import Any, TypedDict

import pytest

from ingest.rollup import CounterReading, EventKind, classify, differences, sorted_readings
from tests.ingest.rollup.helpers import WRAP32

R = CounterReading


class Limits(TypedDict):
    max_wh_per_s: float
    max_gap_s: int


LIMITS: Limits = {"max_wh_per_s": 10.0, "max_gap_s": 900}  # 36 kW; gaps above 15 minutes


def test_normal_increase_is_valid_without_events() -> None:
    d = classify(R(0, 1000), R(60, 1500), **LIMITS)
    assert (d.wh, d.valid, d.events) == (500, True, ())
    assert (d.start, d.end) == (0, 60)


def test_zero_difference_is_valid() -> None:
    d = classify(R(0, 1000), R(60, 1000), **LIMITS)
    assert (d.wh, d.valid) == (0, True)


def test_increase_at_the_physical_limit_is_valid_one_wh_above_is_a_spike() -> None:
    # limit = 10 Wh/s * 60 s + 1 Wh register step = 601 Wh
    assert classify(R(0, 0), R(60, 601), **LIMITS).valid
    d = classify(R(0, 0), R(60, 602), **LIMITS)
    assert (d.valid, d.wh) == (False, None)
    assert [e.kind for e in d.events] == [EventKind.SPIKE]


def test_resolution_allows_one_coarse_register_step() -> None:
    # A kWh register (step 1000 Wh) on a small site: one step in a minute is fine.
    small: Limits = {"max_wh_per_s": 1.0, "max_gap_s": 900}
    assert not classify(R(0, 0), R(60, 1000), **small).valid
    assert classify(R(0, 0), R(60, 1000), **small, resolution_wh=1000).valid


def test_rollover_of_a_32_bit_register() -> None:
    before, after = R(0, WRAP32 - 100), R(60, 50)
    d = classify(before, after, **LIMITS, rollover_wh=WRAP32)
    assert (d.wh, d.valid) == (150, True)
    (event,) = d.events
    assert (event.kind, event.ts, event.before, event.after, event.wh) == (
        EventKind.ROLLOVER,
        60,
        before,
        after,
        150,
    )


def test_decrease_without_known_width_is_a_reset() -> None:
    d = classify(R(0, WRAP32 - 100), R(60, 50), **LIMITS)
    assert (d.wh, d.valid) == (None, False)
    assert [e.kind for e in d.events] == [EventKind.RESET]


def test_implausible_wrap_is_a_reset_not_a_huge_rollover() -> None:
    # Meter swap to a new meter at ~0: wrapping would mean ~4.29 GWh in a minute.
    before, after = R(0, 12_345_678), R(60, 3)
    d = classify(before, after, **LIMITS, rollover_wh=WRAP32)
    assert (d.wh, d.valid) == (None, False)
    (event,) = d.events
    assert (event.kind, event.before, event.after, event.wh) == (
        EventKind.RESET,
        before,
        after,
        None,
    )


def test_values_beyond_the_modulus_cannot_wrap() -> None:
    d = classify(R(0, 70_000), R(60, 10), **LIMITS, rollover_wh=65_536)
    assert [e.kind for e in d.events] == [EventKind.RESET]


def test_swap_to_a_meter_with_a_higher_count_is_a_spike() -> None:
    d = classify(R(0, 5_000), R(60, 9_000_000), **LIMITS, rollover_wh=WRAP32)
    assert (d.wh, d.valid) == (None, False)
    assert [e.kind for e in d.events] == [EventKind.SPIKE]


def test_long_gap_keeps_its_energy_but_is_not_valid() -> None:
    d = classify(R(0, 0), R(901, 500), **LIMITS)
    assert (d.wh, d.valid) == (500, False)
    (event,) = d.events
    assert (event.kind, event.wh) == (EventKind.GAP, 500)
    assert classify(R(0, 0), R(900, 500), **LIMITS).valid  # exactly max_gap_s is fine


def test_rollover_across_a_long_gap_reports_both() -> None:
    d = classify(R(0, WRAP32 - 10), R(3600, 90), **LIMITS, rollover_wh=WRAP32)
    assert (d.wh, d.valid) == (100, False)
    assert [(e.kind, e.wh) for e in d.events] == [(EventKind.ROLLOVER, 100), (EventKind.GAP, 100)]


def test_spike_over_a_long_gap_is_only_a_spike() -> None:
    d = classify(R(0, 0), R(3600, 10**9), **LIMITS)
    assert [e.kind for e in d.events] == [EventKind.SPIKE]


def test_single_corrupt_reading_costs_two_unknown_differences() -> None:
    readings = [R(0, 1000), R(60, 999_999_999), R(120, 1010), R(180, 1020)]
    diffs = differences(readings, **LIMITS, rollover_wh=WRAP32)
    assert [(d.valid, d.wh) for d in diffs] == [(False, None), (False, None), (True, 10)]
    assert [e.kind for d in diffs for e in d.events] == [EventKind.SPIKE, EventKind.RESET]


def test_readings_are_sorted_and_exact_duplicates_dropped() -> None:
    readings = [R(120, 30), R(0, 10), R(60, 20), R(60, 20)]
    assert sorted_readings(readings) == [R(0, 10), R(60, 20), R(120, 30)]
    assert [d.wh for d in differences(readings, **LIMITS)] == [10, 10]


@pytest.mark.parametrize(
    "readings",
    [
        [R(0, 10), R(0, 11)],  # two values at one instant: the store never produces this
        [R(0, -1)],
    ],
)
def test_bad_readings_raise(readings: list[CounterReading]) -> None:
    with pytest.raises(ValueError):
        sorted_readings(readings)


def test_out_of_order_pair_raises() -> None:
    with pytest.raises(ValueError):
        classify(R(60, 0), R(60, 1), **LIMITS)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_wh_per_s": 0.0, "max_gap_s": 900},
        {"max_wh_per_s": 1.0, "max_gap_s": 0},
        {"max_wh_per_s": 1.0, "max_gap_s": 900, "rollover_wh": 0},
        {"max_wh_per_s": 1.0, "max_gap_s": 900, "resolution_wh": -1},
    ],
)
def test_bad_parameters_raise(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        differences([R(0, 0), R(60, 1)], **kwargs)
