"""Local Europe/Sofia buckets across DST: 23- and 25-hour days, the repeated hour, months."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from ingest.rollup import (
    CounterReading,
    EnergyBucket,
    EnergyInterval,
    EventKind,
    bucket_bounds,
    energy_intervals,
    local_buckets,
)
from tests.ingest.rollup.helpers import MAX_WH_PER_S, sofia, utc

R = CounterReading
Q = 900


def varying(start: int, end: int) -> list[CounterReading]:
    """A reading every quarter-hour with a load that changes from one to the next."""
    wh, out = 0, []
    for k, ts in enumerate(range(start, end + 1, Q)):
        out.append(R(ts, wh))
        wh += 10 + (k * 37) % 101
    return out


def by_ts(readings: list[CounterReading]) -> dict[int, int]:
    return {r.ts: r.wh for r in readings}


def intervals_for(readings: list[CounterReading]) -> list[EnergyInterval]:
    return energy_intervals(readings, readings[0].ts, readings[-1].ts, max_wh_per_s=MAX_WH_PER_S)


def shape(b: EnergyBucket) -> tuple[int, int, int, float]:
    return (b.start, b.end, b.intervals, b.completeness)


# 2026-03-29: 03:00 EET (UTC 01:00) jumps to 04:00 EEST.  2026-10-25: 04:00 EEST (UTC 01:00)
# falls back to 03:00 EET. The expected instants below are written in UTC by hand.
SPRING_START, SPRING_END = utc(2026, 3, 28, 22), utc(2026, 3, 29, 21)
AUTUMN_START, AUTUMN_END = utc(2026, 10, 24, 21), utc(2026, 10, 25, 22)


def test_spring_forward_day_has_92_quarter_hours() -> None:
    readings = varying(utc(2026, 3, 27, 22), utc(2026, 3, 30, 21))
    counter = by_ts(readings)
    days = local_buckets(intervals_for(readings), "day", "Europe/Sofia")
    assert [shape(d) for d in days] == [
        (utc(2026, 3, 27, 22), SPRING_START, 96, 1.0),
        (SPRING_START, SPRING_END, 92, 1.0),
        (SPRING_END, utc(2026, 3, 30, 21), 96, 1.0),
    ]
    assert days[1].wh == counter[SPRING_END] - counter[SPRING_START]
    assert sum(d.wh for d in days) == readings[-1].wh - readings[0].wh


def test_fall_back_day_has_100_quarter_hours() -> None:
    readings = varying(utc(2026, 10, 23, 21), utc(2026, 10, 26, 22))
    counter = by_ts(readings)
    days = local_buckets(intervals_for(readings), "day")  # Europe/Sofia is the default
    assert [shape(d) for d in days] == [
        (utc(2026, 10, 23, 21), AUTUMN_START, 96, 1.0),
        (AUTUMN_START, AUTUMN_END, 100, 1.0),
        (AUTUMN_END, utc(2026, 10, 26, 22), 96, 1.0),
    ]
    assert days[1].wh == counter[AUTUMN_END] - counter[AUTUMN_START]


def test_spring_forward_day_has_23_hour_buckets_without_local_0300() -> None:
    readings = varying(SPRING_START, SPRING_END)
    hours = local_buckets(intervals_for(readings), "hour")
    assert len(hours) == 23
    assert [h.start for h in hours] == list(range(SPRING_START, SPRING_END, 3600))
    # Local 02:00 EET is UTC 00:00; the next local hour is 04:00 EEST, UTC 01:00.
    assert (sofia(2026, 3, 29, 2), sofia(2026, 3, 29, 4)) == (
        utc(2026, 3, 29, 0),
        utc(2026, 3, 29, 1),
    )
    assert {h.intervals for h in hours} == {4}


def test_repeated_autumn_hour_is_two_buckets() -> None:
    readings = varying(AUTUMN_START, AUTUMN_END)
    counter = by_ts(readings)
    hours = local_buckets(intervals_for(readings), "hour")
    assert len(hours) == 25
    first, second = utc(2026, 10, 25, 0), utc(2026, 10, 25, 1)  # both local 03:00
    assert (sofia(2026, 10, 25, 3), sofia(2026, 10, 25, 3, fold=1)) == (first, second)
    twice = [h for h in hours if h.start in (first, second)]
    assert [(h.start, h.end, h.intervals) for h in twice] == [
        (first, second, 4),
        (second, second + 3600, 4),
    ]
    assert twice[0].wh == counter[second] - counter[first]
    assert twice[1].wh == counter[second + 3600] - counter[second]
    assert twice[0].wh != twice[1].wh  # the load differs, so a merge would show


def test_month_of_march_2026() -> None:
    start, end = utc(2026, 2, 28, 22), utc(2026, 3, 31, 21)  # EET -> EEST during March
    readings = varying(start - 86400, end + 86400)
    counter = by_ts(readings)
    months = local_buckets(intervals_for(readings), "month")
    march = next(m for m in months if m.start == start)
    assert (march.end, march.intervals, march.completeness) == (end, 31 * 96 - 4, 1.0)
    assert march.wh == counter[end] - counter[start]
    assert [m.start for m in months] == [utc(2026, 1, 31, 22), start, end]


def test_month_of_october_2026() -> None:
    start, end = utc(2026, 9, 30, 21), utc(2026, 10, 31, 22)  # EEST -> EET during October
    readings = varying(start, end)
    counter = by_ts(readings)
    (october,) = local_buckets(intervals_for(readings), "month")
    assert shape(october) == (start, end, 31 * 96 + 4, 1.0)
    assert october.wh == counter[end] - counter[start]


def test_completeness_is_weighted_by_duration() -> None:
    # On the 25-hour day, no readings from local 10:00 to 16:00: 6 of 25 hours missing.
    readings = [
        r
        for r in varying(AUTUMN_START, AUTUMN_END)
        if not sofia(2026, 10, 25, 10) < r.ts < sofia(2026, 10, 25, 16)
    ]
    (day,) = local_buckets(intervals_for(readings), "day")
    assert day.completeness == pytest.approx(19 / 25)
    assert day.intervals == 100
    (gap,) = day.events
    assert (gap.kind, gap.ts) == (EventKind.GAP, sofia(2026, 10, 25, 16))
    counter = by_ts(readings)
    assert day.wh == counter[AUTUMN_END] - counter[AUTUMN_START] - (gap.wh or 0)


def test_intervals_not_passed_count_as_missing() -> None:
    intervals = intervals_for(varying(SPRING_START, SPRING_END))
    (day,) = local_buckets(intervals[:46], "day")
    assert (day.start, day.end, day.intervals) == (SPRING_START, SPRING_END, 46)
    assert day.completeness == pytest.approx(0.5)
    assert day.wh == sum(iv.wh for iv in intervals[:46])


def test_tz_is_configurable() -> None:
    intervals = intervals_for(varying(AUTUMN_START, AUTUMN_END))
    days = local_buckets(intervals, "day", ZoneInfo("UTC"))
    assert [(d.start, d.intervals) for d in days] == [
        (utc(2026, 10, 24), 12),
        (utc(2026, 10, 25), 88),
    ]
    assert days[1].completeness == pytest.approx(88 / 96)


def test_interval_straddling_a_bucket_raises() -> None:
    # India is UTC+05:30: an hourly UTC interval crosses a local hour boundary.
    hourly = [EnergyInterval(utc(2026, 5, 4), utc(2026, 5, 4, 1), 10, 1.0)]
    with pytest.raises(ValueError, match="straddles"):
        local_buckets(hourly, "hour", "Asia/Kolkata")
    assert len(local_buckets(hourly, "hour", "Europe/Sofia")) == 1


def test_duplicate_intervals_raise() -> None:
    iv = EnergyInterval(utc(2026, 5, 4), utc(2026, 5, 4, 0, 15), 10, 1.0)
    with pytest.raises(ValueError, match="duplicate"):
        local_buckets([iv, iv], "day")


def test_unknown_unit_raises() -> None:
    with pytest.raises(ValueError):
        bucket_bounds(0, "week")  # type: ignore[arg-type]


def test_bucket_bounds_year_end() -> None:
    assert bucket_bounds(utc(2026, 12, 31, 21, 30), "month") == (
        utc(2026, 11, 30, 22),
        utc(2026, 12, 31, 22),
    )
    assert bucket_bounds(utc(2026, 12, 31, 22), "month") == (
        utc(2026, 12, 31, 22),
        utc(2027, 1, 31, 22),
    )
    assert bucket_bounds(utc(2026, 12, 31, 22), "day") == (
        utc(2026, 12, 31, 22),
        utc(2027, 1, 1, 22),
    )
