"""Per-phase series, latest values and device status from stored records and statuses."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from ingest.store import TimeSeriesStore
from portal_api.consumption import ConsumptionService, QueryError
from protocol.records import CLOCK_SYNCED, Record
from tests.portal.consumption.conftest import Dataset
from tests.portal.consumption.data import SOFIA, stats

UTC = ZoneInfo("UTC")
DEV = "dev-phases"
SITE = "site-phases"
T0 = int(dt.datetime(2026, 3, 10, 10, tzinfo=dt.UTC).timestamp())  # 12:00 in Sofia


def minute(i: int, p1: float, samples: int = 60) -> Record:
    values = stats(0)
    values["p_l1_w"] = (p1, p1 - 50, p1 + 50)
    return Record(
        i,
        T0 + 60 * i,
        clock=CLOCK_SYNCED,
        samples=samples,
        expected=60,
        stats=values,
        counters={"e_imp_wh": 5_000 + i, "e_exp_wh": 7},
    )


def write(store: TimeSeriesStore) -> None:
    """10:00-11:00 UTC in minutes (10:30 with half its polls), 11:00-11:15 coarsened,
    nothing after."""
    records = [
        minute(i, 2000.0 if i == 30 else 1000.0 + i, 30 if i == 30 else 60) for i in range(60)
    ]
    values = stats(0)
    values["p_l1_w"] = (500.0, 400.0, 600.0)
    records.append(
        Record(
            60,
            T0 + 3600,
            period_s=900,
            clock=CLOCK_SYNCED,
            samples=900,
            expected=900,
            span=15,
            stats=values,
            counters={"e_imp_wh": 5_123, "e_exp_wh": 8},
        )
    )
    store.write_records(DEV, SITE, "sdm630", records)


def at(ts: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, dt.UTC)


def test_quarter_hours_weighted_by_polls(store: TimeSeriesStore) -> None:
    write(store)
    got = ConsumptionService(store).phases(DEV, at(T0), at(T0 + 7200), "15min", UTC)
    assert len(got) == 8
    # 10:30-10:45: minute 30 has 30 polls at 2000 W, minutes 31..44 60 polls each
    mean = (30 * 2000 + sum(60 * (1000 + i) for i in range(31, 45))) / (30 + 14 * 60)
    third = got[2]
    assert third.l1.p_w == round(mean, 1)
    assert third.l1.p_w_min == 981.0  # minute 31: 1031 - 50
    assert third.l1.p_w_max == 2050.0
    assert third.completeness == pytest.approx(870 / 900, abs=1e-4)
    assert third.l2.p_w == 2000.0
    assert third.l1.u_v == 231.0
    assert third.total.p_w == 6000.0
    assert third.total.pf == 0.9
    # 11:00-11:15 is one coarsened record; after it, nothing
    assert got[4].l1.p_w == 500.0
    assert got[4].completeness == 1.0
    assert [iv.completeness for iv in got[5:]] == [0.0, 0.0, 0.0]
    assert got[5].l1.p_w is None
    assert got[5].total.pf is None


def test_a_coarsened_record_counts_for_its_span(store: TimeSeriesStore) -> None:
    write(store)
    service = ConsumptionService(store)
    minutes = service.phases(DEV, at(T0 + 3480), at(T0 + 3780), "1min", UTC)
    assert [iv.interval_start.strftime("%H:%M") for iv in minutes] == [
        "10:58",
        "10:59",
        "11:00",
        "11:01",
        "11:02",
    ]
    assert [iv.l1.p_w for iv in minutes] == [1058.0, 1059.0, 500.0, 500.0, 500.0]
    assert all(iv.completeness == 1.0 for iv in minutes)
    # 1-minute intervals off the quarter-hour still see the coarsened record
    inside = service.phases(DEV, at(T0 + 3660), at(T0 + 3720), "1min", UTC)
    assert inside[0].l1.p_w == 500.0
    hourly = service.phases(DEV, at(T0), at(T0 + 7200), "hour", SOFIA)
    assert [iv.interval_start.isoformat() for iv in hourly] == [
        "2026-03-10T12:00:00+02:00",
        "2026-03-10T13:00:00+02:00",
    ]
    assert hourly[1].completeness == 0.25  # 15 of 60 minutes
    assert hourly[1].l1.p_w == 500.0
    assert hourly[0].completeness == pytest.approx(3570 / 3600, abs=1e-4)


def test_phases_on_the_dst_day(dataset: Dataset) -> None:
    got = dataset.service.phases(
        "me-varna-1",
        dt.datetime(2026, 3, 29, tzinfo=SOFIA),
        dt.datetime(2026, 3, 30, tzinfo=SOFIA),
        "hour",
        SOFIA,
    )
    assert len(got) == 23
    assert all(iv.completeness == 1.0 for iv in got)
    (day,) = dataset.service.phases(
        "me-varna-1",
        dt.datetime(2026, 3, 29, tzinfo=SOFIA),
        dt.datetime(2026, 3, 30, tzinfo=SOFIA),
        "day",
        SOFIA,
    )
    records = dataset.store.records(
        "me-varna-1", int(day.interval_start.timestamp()), int(day.interval_end.timestamp())
    )
    assert len(records) == 92
    assert day.l3.p_w == round(sum(r.stats["p_l3_w"][0] for r in records) / 92, 1)


def test_phase_queries_are_checked(store: TimeSeriesStore) -> None:
    service = ConsumptionService(store)
    with pytest.raises(QueryError, match="2 days"):
        service.phases(DEV, at(T0), at(T0 + 3 * 86400), "1min", UTC)
    with pytest.raises(QueryError, match="resolution"):
        service.phases(DEV, at(T0), at(T0 + 3600), "5min", UTC)


def test_latest_values(store: TimeSeriesStore) -> None:
    service = ConsumptionService(store)
    assert service.latest(DEV) is None
    write(store)
    latest = service.latest(DEV)
    assert latest is not None
    assert latest.interval_start.isoformat() == "2026-03-10T13:00:00+02:00"
    assert latest.interval_end.isoformat() == "2026-03-10T13:15:00+02:00"
    assert latest.l1.p_w == 500.0
    assert latest.l1.p_w_min == 400.0
    assert latest.l2.i_a == round(2000.0 / 230.0, 3)
    assert latest.total.p_w == 6000.0
    assert latest.f_hz == 50.0
    assert (latest.import_kwh, latest.export_kwh) == (5.123, 0.008)


# -- device status ------------------------------------------------------------------

END = T0 + 3600 + 900  # end of the newest record


def test_status_online_offline_and_stale(store: TimeSeriesStore) -> None:
    service = ConsumptionService(store)
    write(store)
    status = {"state": "online", "version": "1.4.2", "queue_depth": 3, "signal_dbm": -71}
    store.write_status(DEV, SITE, END - 600, {**status, "clock": "synced", "live_until": END + 60})
    view = service.device_status(DEV, now=END + 100)
    assert view.online is True
    assert view.last_seen == at(END)  # the record ends after the status
    assert (view.queue_depth, view.signal_dbm, view.version, view.clock) == (
        3,
        -71,
        "1.4.2",
        "synced",
    )
    assert view.live_until == at(END + 60)
    assert view.status_at == at(END - 600)
    # silent for longer than two upload intervals: not online, whatever it last said
    assert service.device_status(DEV, now=END + 1801).online is False
    # the broker's last will: offline, and not "seen" by it
    store.write_status(DEV, SITE, END + 200, {"state": "offline", "version": "1.4.2"})
    view = service.device_status(DEV, now=END + 250)
    assert (view.online, view.state, view.last_seen) == (False, "offline", at(END))
    assert view.queue_depth is None


def test_status_live_samples_and_nothing_known(store: TimeSeriesStore) -> None:
    service = ConsumptionService(store)
    nothing = service.device_status(DEV, now=END)
    assert (nothing.online, nothing.state, nothing.last_seen) == (False, None, None)
    write(store)
    store.write_status(DEV, SITE, END - 60, {"state": "online"})
    store.write_live(DEV, SITE, [((END + 30) * 1000 + 500, {"p_l1_w": 1.0})])
    view = service.device_status(DEV, now=END + 40)
    assert view.last_seen == dt.datetime.fromtimestamp(END + 30.5, dt.UTC)
    assert view.online is True
    # records alone (no status ever): seen, but not known to be online
    only_records = service.device_status("dev-no-status", now=END)
    assert only_records.online is False
