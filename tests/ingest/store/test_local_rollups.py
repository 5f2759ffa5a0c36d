"""Local-time aggregation on the DST days, through each store (the contract suite's
15-minute/hour/day/month case): ingest's RollupWriter computes the buckets and the
store must keep and return them with their true 23- or 25-hour length."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ingest.rollup_writer import RollupWriter, SiteMeter
from ingest.store import EnergyKey, InfluxStore, Retention, SqliteStore, TimeSeriesStore
from protocol.codec import CLOCK_SYNCED, Record
from tests.ingest.store.conftest import INFLUX, influx_config

SOFIA = ZoneInfo("Europe/Sofia")
DEVICE, SITE = "dst-meter-1", "dst-site"
WH_PER_MINUTE = 10


@pytest.fixture(params=["sqlite", INFLUX])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TimeSeriesStore]:
    """A store with the production retention: the spring DST day may be ~8 months old."""
    made: TimeSeriesStore
    if request.param == "sqlite":
        made = SqliteStore(tmp_path / "ts.sqlite3", Retention())
    else:
        made = InfluxStore(
            influx_config(request.getfixturevalue("influxdb"), retention=Retention())
        )
    made.init()
    yield made
    made.close()


def _last_sunday(year: int, month: int) -> dt.date:
    day = dt.date(year, month + 1, 1) - dt.timedelta(days=1)
    return day - dt.timedelta(days=(day.weekday() + 1) % 7)


def _recent_dst_day(month: int) -> dt.date:
    """The most recent past last-Sunday of ``month``: within InfluxDB's raw retention."""
    today = dt.datetime.now(dt.UTC).date()
    day = _last_sunday(today.year, month)
    return day if day < today else _last_sunday(today.year - 1, month)


def _local_day(day: dt.date) -> tuple[int, int]:
    start = dt.datetime.combine(day, dt.time(), SOFIA)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), SOFIA)
    return int(start.timestamp()), int(end.timestamp())


@pytest.mark.parametrize(("month", "hours"), [(3, 23), (10, 25)])
def test_dst_day_buckets_have_their_true_length(
    store: TimeSeriesStore, month: int, hours: int
) -> None:
    start, end = _local_day(_recent_dst_day(month))
    assert end - start == hours * 3600
    # one minute before the day, so the first minute of the day has a reading at its start
    records = [
        Record(
            seq,
            ts,
            clock=CLOCK_SYNCED,
            samples=60,
            expected=60,
            stats={"p_total_w": (600.0, 550.0, 650.0)},
            counters={"e_imp_wh": 1_000_000 + WH_PER_MINUTE * seq, "e_exp_wh": 5_000},
        )
        for seq, ts in enumerate(range(start - 60, end, 60))
    ]
    store.write_records(DEVICE, SITE, "sdm630", records)
    writer = RollupWriter(
        store, lambda site: [SiteMeter(DEVICE, installed_at=0)], max_wh_per_s=100_000 / 3600
    )
    writer.recompute(DEVICE, SITE, [r.ts + r.period_s for r in records])

    minutes = hours * 60
    for owner in (EnergyKey("meter", DEVICE), EnergyKey("site", SITE)):
        quarters = store.energy(owner, "15min", start, end)
        assert len(quarters) == hours * 4, owner
        assert sum(q.import_wh for q in quarters) == minutes * WH_PER_MINUTE
        hourly = store.energy(owner, "hour", start, end)
        assert len(hourly) == hours
        assert all(h.import_wh == 60 * WH_PER_MINUTE for h in hourly)
        (day,) = store.energy(owner, "day", start, end)
        assert (day.start, day.end) == (start, end)
        assert day.import_wh == minutes * WH_PER_MINUTE
        assert day.export_wh == 0
        assert day.completeness == pytest.approx(1.0)
        first = dt.datetime.fromtimestamp(start, SOFIA).replace(day=1)
        after = (first + dt.timedelta(days=32)).replace(day=1)
        month_start, month_end = int(first.timestamp()), int(after.timestamp())
        (month_row,) = store.energy(owner, "month", month_start, month_end)
        assert (month_row.start, month_row.end) == (month_start, month_end)
        assert month_row.import_wh == minutes * WH_PER_MINUTE
        # only the DST day has data: the month is that day's share complete
        assert month_row.completeness == pytest.approx((end - start) / (month_end - month_start))
