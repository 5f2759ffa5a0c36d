"""The TimeSeriesStore contract, run against SqliteStore and InfluxStore alike.

Ranges are [start, end) everywhere; writes are idempotent (a redelivery
overwrites); counter readings are stamped with the END of their record's period.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from ingest.store import EnergyKey, EnergyRow, TimeSeriesStore
from ingest.store.rows import CounterReading
from protocol.records import CLOCK_ESTIMATED, CLOCK_SYNCED, Record

DEV = "me-0042"
SITE = "site-7"
METER = "em340"
# Raw records must lie within the raw retention of the real clock, or Influx's
# policy drops them: three days ago, on an hour boundary.
T0 = (int(time.time()) - 3 * 86400) // 3600 * 3600
SOFIA = ZoneInfo("Europe/Sofia")


def rec(seq: int, ts: int, *, p1: float = 1200.0, imp: int = 1000, period_s: int = 60) -> Record:
    return Record(
        seq=seq,
        ts=ts,
        period_s=period_s,
        clock=CLOCK_SYNCED,
        samples=period_s,
        expected=period_s,
        span=period_s // 60,
        stats={"p_l1_w": (p1, p1 - 100, p1 + 100), "u_l1_v": (230.1, 229.5, 231.0)},
        counters={"e_imp_wh": imp, "e_exp_wh": 7},
    )


def minutes(n: int, start: int = T0, seq0: int = 100) -> list[Record]:
    return [rec(seq0 + i, start + 60 * i, p1=1000.0 + i, imp=5000 + 20 * i) for i in range(n)]


def test_implements_protocol(store: TimeSeriesStore) -> None:
    assert isinstance(store, TimeSeriesStore)


def test_write_and_read_back(store: TimeSeriesStore) -> None:
    written = minutes(5)
    store.write_records(DEV, SITE, METER, written)
    assert store.records(DEV, T0, T0 + 300) == written
    got = store.records(DEV, T0, T0 + 300)[2]
    assert isinstance(got.counters["e_imp_wh"], int)
    assert got.stats["p_l1_w"] == (1002.0, 902.0, 1102.0)
    assert store.records("other-device", T0, T0 + 300) == []


def test_integer_means_are_stored_as_floats(store: TimeSeriesStore) -> None:
    # A mean that happens to be an int must not fix the field's type as integer.
    first = Record(1, T0, samples=60, expected=60, stats={"p_l1_w": (1200, 1100, 1300)})
    second = Record(2, T0 + 60, samples=60, expected=60, stats={"p_l1_w": (1200.5, 1100, 1301)})
    store.write_records(DEV, SITE, METER, [first])
    store.write_records(DEV, SITE, METER, [second])
    assert [r.stats["p_l1_w"] for r in store.records(DEV, T0, T0 + 120)] == [
        (1200.0, 1100.0, 1300.0),
        (1200.5, 1100.0, 1301.0),
    ]


def test_overwrite_is_idempotent(store: TimeSeriesStore) -> None:
    store.write_records(DEV, SITE, METER, minutes(3))
    store.write_records(DEV, SITE, METER, minutes(3))  # redelivery
    later = rec(101, T0 + 60, p1=4321.0, imp=9999)
    later.clock = CLOCK_ESTIMATED
    store.write_records(DEV, SITE, METER, [later])
    got = store.records(DEV, T0, T0 + 180)
    assert len(got) == 3
    assert got[1] == later
    assert got[1].clock == CLOCK_ESTIMATED


def test_overwrite_merges_fields_like_influx(store: TimeSeriesStore) -> None:
    # Same series + time: fields of the later write win, fields it lacks stay.
    store.write_records(DEV, SITE, METER, [rec(1, T0, p1=10.0)])
    partial = Record(1, T0, samples=30, expected=60, stats={"p_l1_w": (20.0, 19.0, 21.0)})
    store.write_records(DEV, SITE, METER, [partial])
    (got,) = store.records(DEV, T0, T0 + 60)
    assert got.samples == 30
    assert got.stats["p_l1_w"] == (20.0, 19.0, 21.0)
    assert got.stats["u_l1_v"] == (230.1, 229.5, 231.0)
    assert got.counters == {"e_imp_wh": 1000, "e_exp_wh": 7}


def test_range_is_half_open(store: TimeSeriesStore) -> None:
    store.write_records(DEV, SITE, METER, minutes(10))
    got = store.records(DEV, T0 + 120, T0 + 300)
    assert [r.ts for r in got] == [T0 + 120, T0 + 180, T0 + 240]
    assert store.records(DEV, T0 + 120, T0 + 120) == []
    as_datetimes = store.records(
        DEV, datetime.fromtimestamp(T0 + 120, UTC), datetime.fromtimestamp(T0 + 300, UTC)
    )
    assert as_datetimes == got


def test_channel_selection(store: TimeSeriesStore) -> None:
    store.write_records(DEV, SITE, METER, minutes(3))
    got = store.records(DEV, T0, T0 + 180, channels=["p_l1_w", "e_imp_wh"])
    assert [set(r.stats) for r in got] == [{"p_l1_w"}] * 3
    assert [r.counters for r in got] == [{"e_imp_wh": 5000 + 20 * i} for i in range(3)]
    assert [r.seq for r in got] == [100, 101, 102]  # metadata always comes along


def test_raw_and_coarsened_records(store: TimeSeriesStore) -> None:
    coarse = rec(1, T0 - 900, period_s=900, imp=4000)
    store.write_records(DEV, SITE, METER, [coarse, *minutes(2)])
    got = store.records(DEV, T0 - 900, T0 + 120)
    assert [(r.ts, r.period_s, r.span) for r in got] == [
        (T0 - 900, 900, 15),
        (T0, 60, 1),
        (T0 + 60, 60, 1),
    ]
    assert got[0] == coarse


def test_unsupported_period_is_refused(store: TimeSeriesStore) -> None:
    with pytest.raises(ValueError, match="period_s 300"):
        store.write_records(DEV, SITE, METER, [rec(1, T0, period_s=300)])


def test_latest(store: TimeSeriesStore) -> None:
    assert store.latest(DEV) is None
    records = minutes(4)
    store.write_records(DEV, SITE, METER, list(reversed(records)))
    store.write_records("me-other", SITE, METER, [rec(1, T0 + 3600)])
    assert store.latest(DEV) == records[-1]


def test_counter_readings_are_stamped_at_period_end(store: TimeSeriesStore) -> None:
    coarse = rec(1, T0 - 900, period_s=900, imp=4000)  # reading at T0
    store.write_records(DEV, SITE, METER, [coarse, *minutes(5)])  # readings at T0+60 ...
    store.write_records(DEV, SITE, METER, [Record(200, T0 + 300)])  # no counters
    got = store.counter_readings(DEV, "e_imp_wh", T0, T0 + 240)
    assert got == [
        CounterReading(T0, 4000),
        CounterReading(T0 + 60, 5000),
        CounterReading(T0 + 120, 5020),
        CounterReading(T0 + 180, 5040),
    ]
    assert all(isinstance(r.wh, int) for r in got)
    assert store.counter_readings(DEV, "e_imp_l1_wh", T0, T0 + 600) == []
    with pytest.raises(ValueError, match="not a counter"):
        store.counter_readings(DEV, "p_l1_w", T0, T0 + 600)


def _local_day(day: datetime) -> tuple[int, int]:
    start = day.replace(tzinfo=SOFIA)
    end = (day + timedelta(days=1)).replace(tzinfo=SOFIA)
    return int(start.timestamp()), int(end.timestamp())


def test_energy_rows_on_dst_days(store: TimeSeriesStore) -> None:
    meter = EnergyKey("meter", DEV)
    site = EnergyKey("site", SITE)
    days = [_local_day(datetime(2026, 3, d)) for d in (28, 29, 30)]
    days += [_local_day(datetime(2026, 10, d)) for d in (24, 25, 26)]
    assert [e - s for s, e in days] == [86400, 82800, 86400, 86400, 90000, 86400]
    rows = [EnergyRow(meter, "day", s, e, 1000 + i, i, 1.0) for i, (s, e) in enumerate(days)]
    store.write_energy(rows)
    store.write_energy([EnergyRow(site, "day", days[1][0], days[1][1], 5, 6, 0.5)])

    march = store.energy(meter, "day", days[0][0], days[2][0])  # [28th, 30th)
    assert march == rows[:2]
    assert march[1].start == int(datetime(2026, 3, 28, 22, tzinfo=UTC).timestamp())
    assert march[1].end - march[1].start == 23 * 3600
    october = store.energy(meter, "day", days[4][0], days[5][1])
    assert october == rows[4:]
    assert october[0].start == int(datetime(2026, 10, 24, 21, tzinfo=UTC).timestamp())
    assert october[0].end - october[0].start == 25 * 3600
    assert store.energy(site, "day", 0, 2**31) == [
        EnergyRow(site, "day", days[1][0], days[1][1], 5, 6, 0.5)
    ]
    assert store.energy(meter, "hour", 0, 2**31) == []


def test_energy_overwrite(store: TimeSeriesStore) -> None:
    key = EnergyKey("meter", DEV)
    start = T0
    store.write_energy([EnergyRow(key, "15min", start, start + 900, 10, 0, 0.4)])
    better = EnergyRow(key, "15min", start, start + 900, 25, 3, 1.0)
    store.write_energy([better])
    store.write_energy([EnergyRow(key, "15min", start + 900, start + 1800, 30, 0, 1.0)])
    got = store.energy(key, "15min", start, start + 1800)
    assert got[0] == better
    assert len(got) == 2
    assert isinstance(got[0].import_wh, int)
    assert store.energy(key, "15min", start, start + 900) == [better]


def test_live_samples(store: TimeSeriesStore) -> None:
    # Live data lives two days: use the real clock so Influx's policy accepts it.
    now_ms = (int(time.time()) - 60) * 1000
    samples = [(now_ms + 250 * i, {"p_l1_w": 1200.0 + i, "p_l2_w": 310.0 - i}) for i in range(8)]
    store.write_live(DEV, SITE, samples)
    store.write_live(DEV, SITE, samples[:2])  # redelivery: same points
    start = now_ms // 1000
    got = store.live(DEV, start, start + 1)  # [start, start+1 s): the first four
    assert got == samples[:4]
    assert store.live(DEV, start, start + 2) == samples
    assert store.live("me-other", start, start + 2) == []


def test_retention(deleting_store: TimeSeriesStore) -> None:
    store = deleting_store
    now = int(time.time())
    live_old, live_new = (now - 3 * 86400) * 1000, (now - 3600) * 1000
    store.write_live(DEV, SITE, [(live_old, {"p_l1_w": 1.0}), (live_new, {"p_l1_w": 2.0})])
    raw_old, raw_new = now - 40 * 86400, now - 20 * 86400
    coarse_old = now - 100 * 86400
    store.write_records(
        DEV,
        SITE,
        METER,
        [rec(1, raw_old), rec(2, raw_new), rec(3, coarse_old, period_s=900)],
    )
    key = EnergyKey("meter", DEV)
    store.write_energy([EnergyRow(key, "day", coarse_old, coarse_old + 86400, 1, 0, 1.0)])

    store.apply_retention(now)

    assert store.live(DEV, now - 10 * 86400, now) == [(live_new, {"p_l1_w": 2.0})]
    assert [r.ts for r in store.records(DEV, 0, now)] == [coarse_old, raw_new]
    assert len(store.energy(key, "day", 0, now)) == 1
