"""Downsampling helpers: pure, and through both stores."""

from __future__ import annotations

import time

import pytest

from ingest.store import TimeSeriesStore
from ingest.store.aggregate import StatPoint, chart, downsample
from protocol.records import Record

T0 = (int(time.time()) - 86400) // 3600 * 3600  # within the raw retention, on the hour


def minute(i: int, mean: float, *, samples: int = 60, low: float = 0.0, high: float = 0.0):
    return Record(
        i,
        T0 + 60 * i,
        samples=samples,
        expected=60,
        stats={"p_l1_w": (mean, low or mean, high or mean)},
        counters={"e_imp_wh": i},
    )


def test_weighted_by_samples_min_max_and_alignment() -> None:
    records = [
        minute(0, 100.0, samples=60, low=90.0, high=110.0),
        minute(1, 200.0, samples=20, low=150.0, high=400.0),
        minute(5, 50.0),  # next 5-minute bucket
    ]
    assert downsample(records, "p_l1_w", 300) == [
        StatPoint(T0, 125.0, 90.0, 400.0, samples=80, records=2),
        StatPoint(T0 + 300, 50.0, 50.0, 50.0, samples=60, records=1),
    ]


def test_no_samples_weights_by_period_and_coarse_records_count_whole() -> None:
    coarse = Record(0, T0, period_s=900, span=15, stats={"p_l1_w": (10.0, 5.0, 20.0)})  # samples 0
    raw = Record(15, T0 + 900, stats={"p_l1_w": (100.0, 100.0, 100.0)})
    (point,) = downsample([coarse, raw], "p_l1_w", 3600)
    assert point.mean == pytest.approx((900 * 10.0 + 60 * 100.0) / 960)
    assert (point.samples, point.records) == (0, 2)


def test_skips_records_without_the_channel_and_refuses_counters() -> None:
    assert downsample([Record(1, T0)], "p_l1_w", 60) == []
    with pytest.raises(ValueError, match="counter"):
        downsample([], "e_imp_wh", 60)
    with pytest.raises(ValueError, match="positive"):
        downsample([], "p_l1_w", 0)


def test_chart_through_the_store(store: TimeSeriesStore) -> None:
    store.write_records("me-1", "s", "em340", [minute(i, 10.0 * i) for i in range(10)])
    got = chart(store, "me-1", "p_l1_w", T0, T0 + 600, every_s=300)
    assert [(p.start, p.mean, p.records) for p in got] == [(T0, 20.0, 5), (T0 + 300, 70.0, 5)]
