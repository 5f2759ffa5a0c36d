"""ConsumptionService.energy: every interval listed, DST-correct, on SQLite and InfluxDB.

The expected numbers come from the oracle in data.py (the counters the records
were made from), never from the code under test.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from portal_api.consumption import EnergyInterval, EnergyPage, QueryError, paginate
from tests.portal.consumption.conftest import Dataset
from tests.portal.consumption.data import SITE, SOFIA, local

UTC = ZoneInfo("UTC")


def d(year: int, month: int, day: int, hour: int = 0, tz: ZoneInfo = SOFIA) -> dt.datetime:
    return dt.datetime(year, month, day, hour, tzinfo=tz)


def check(ds: Dataset, got: list[EnergyInterval]) -> None:
    """Each interval's energy and completeness equal the oracle's."""
    for iv in got:
        imp, exp, completeness = ds.expected(
            int(iv.interval_start.timestamp()), int(iv.interval_end.timestamp())
        )
        assert iv.import_kwh == (None if imp is None else round(imp / 1000, 3)), iv
        assert iv.export_kwh == (None if exp is None else round(exp / 1000, 3)), iv
        assert iv.completeness == pytest.approx(completeness, abs=1e-4), iv


def hours(iv: EnergyInterval) -> float:
    # timestamps: subtracting datetimes of one tzinfo would give wall-clock hours
    return (iv.interval_end.timestamp() - iv.interval_start.timestamp()) / 3600


def test_spring_dst_day_has_23_hours(dataset: Dataset) -> None:
    got = dataset.service.energy(SITE, d(2026, 3, 29), d(2026, 3, 30), "hour", SOFIA)
    assert len(got) == 23
    assert [iv.interval_start.isoformat() for iv in got[1:4]] == [
        "2026-03-29T01:00:00+02:00",
        "2026-03-29T02:00:00+02:00",
        "2026-03-29T04:00:00+03:00",  # no local 03:00
    ]
    assert all(hours(iv) == 1 for iv in got)
    assert all(iv.completeness == 1.0 for iv in got)
    check(dataset, got)


def test_autumn_dst_day_has_25_hours_and_two_3_oclocks(dataset: Dataset) -> None:
    got = dataset.service.energy(SITE, d(2026, 10, 25), d(2026, 10, 26), "hour", SOFIA)
    assert len(got) == 25
    threes = [iv.interval_start.isoformat() for iv in got if iv.interval_start.hour == 3]
    assert threes == ["2026-10-25T03:00:00+03:00", "2026-10-25T03:00:00+02:00"]
    check(dataset, got)
    quarters = dataset.service.energy(SITE, d(2026, 10, 25), d(2026, 10, 26), "15min", SOFIA)
    assert len(quarters) == 100
    check(dataset, quarters)


def test_days_around_the_dst_days(dataset: Dataset) -> None:
    got = dataset.service.energy(SITE, d(2026, 3, 28), d(2026, 3, 31), "day", SOFIA)
    assert [hours(iv) for iv in got] == [24, 23, 24]
    # the contract's example interval (decision 0004)
    assert got[1].interval_start.isoformat() == "2026-03-29T00:00:00+02:00"
    assert got[1].interval_end.isoformat() == "2026-03-30T00:00:00+03:00"
    check(dataset, got)
    autumn = dataset.service.energy(SITE, d(2026, 10, 24), d(2026, 10, 27), "day", SOFIA)
    assert [hours(iv) for iv in autumn] == [24, 25, 24]
    assert [iv.completeness for iv in autumn] == [1.0, 1.0, 1.0]
    check(dataset, autumn)


def test_quarters_hours_and_day_agree(dataset: Dataset) -> None:
    quarters = dataset.service.energy(SITE, d(2026, 3, 29), d(2026, 3, 30), "15min", SOFIA)
    assert len(quarters) == 92
    (day,) = dataset.service.energy(SITE, d(2026, 3, 29), d(2026, 3, 30), "day", SOFIA)
    total = sum(q.import_kwh or 0 for q in quarters)
    assert day.import_kwh == pytest.approx(total, abs=1e-9)


def test_a_month_and_a_partial_month(dataset: Dataset) -> None:
    got = dataset.service.energy(SITE, d(2026, 3, 1), d(2026, 5, 1), "month", SOFIA)
    assert [iv.interval_start.isoformat() for iv in got] == [
        "2026-03-01T00:00:00+02:00",
        "2026-04-01T00:00:00+03:00",
    ]
    assert hours(got[0]) == 31 * 24 - 1
    # March: all but the holes (2 h on the 10th, the 15th, and the quarter after each)
    missing_quarters = 8 + 1 + 96 + 1
    assert got[0].completeness == pytest.approx((2972 - missing_quarters) / 2972, abs=1e-4)
    assert got[1].completeness == pytest.approx(7 / 30, abs=1e-4)  # data up to 8 April
    check(dataset, got)


def test_weeks_start_on_monday_and_cross_the_month_end(dataset: Dataset) -> None:
    # from a Wednesday: widened to whole ISO weeks, never cut
    got = dataset.service.energy(SITE, d(2026, 3, 25), d(2026, 4, 6), "week", SOFIA)
    assert [iv.interval_start.isoformat() for iv in got] == [
        "2026-03-23T00:00:00+02:00",
        "2026-03-30T00:00:00+03:00",
    ]
    assert got[1].interval_end.isoformat() == "2026-04-06T00:00:00+03:00"
    assert [hours(iv) for iv in got] == [167, 168]  # the first holds the 23-hour Sunday
    assert [iv.completeness for iv in got] == [1.0, 1.0]
    check(dataset, got)


def test_weeks_in_utc(dataset: Dataset) -> None:
    got = dataset.service.energy(SITE, d(2026, 3, 23, tz=UTC), d(2026, 4, 6, tz=UTC), "week", UTC)
    assert [hours(iv) for iv in got] == [168, 168]
    check(dataset, got)


def test_utc_days_and_month(dataset: Dataset) -> None:
    got = dataset.service.energy(SITE, d(2026, 3, 28, tz=UTC), d(2026, 3, 31, tz=UTC), "day", "UTC")
    assert [iv.interval_start.isoformat() for iv in got] == [
        "2026-03-28T00:00:00+00:00",
        "2026-03-29T00:00:00+00:00",
        "2026-03-30T00:00:00+00:00",
    ]
    assert [hours(iv) for iv in got] == [24, 24, 24]
    check(dataset, got)
    month = dataset.service.energy(SITE, d(2026, 3, 1, tz=UTC), d(2026, 4, 1, tz=UTC), "month", UTC)
    check(dataset, month)
    # UTC March starts 2 hours after the Sofia one, before the data: not complete
    assert month[0].completeness < 1.0


def test_a_half_hour_zone_is_built_from_quarter_hours(dataset: Dataset) -> None:
    kolkata = ZoneInfo("Asia/Kolkata")
    got = dataset.service.energy(
        SITE, d(2026, 3, 20, tz=kolkata), d(2026, 3, 23, tz=kolkata), "hour", kolkata
    )
    assert len(got) == 72
    assert got[0].interval_start.isoformat() == "2026-03-20T00:00:00+05:30"
    check(dataset, got)


def test_gaps_are_listed_with_null_energy(dataset: Dataset) -> None:
    days = dataset.service.energy(SITE, d(2026, 3, 14), d(2026, 3, 17), "day", SOFIA)
    assert days[1].import_kwh is None
    assert days[1].export_kwh is None
    assert days[1].completeness == 0.0
    assert days[2].completeness == pytest.approx(95 / 96, abs=1e-4)
    check(dataset, days)
    hours_ = dataset.service.energy(SITE, d(2026, 3, 10, 9), d(2026, 3, 10, 13), "hour", SOFIA)
    assert [iv.import_kwh is None for iv in hours_] == [False, True, True, False]
    assert hours_[3].completeness == 0.75
    check(dataset, hours_)
    # no data at all: every interval still listed
    after = dataset.service.energy(SITE, d(2026, 4, 8), d(2026, 4, 10), "day", SOFIA)
    assert [(iv.import_kwh, iv.completeness) for iv in after] == [(None, 0.0), (None, 0.0)]
    nobody = dataset.service.energy("no-such-site", d(2026, 3, 1), d(2026, 3, 2), "hour", SOFIA)
    assert len(nobody) == 24
    assert all(iv.import_kwh is None for iv in nobody)


def test_today_so_far(dataset: Dataset) -> None:
    now = d(2026, 3, 10, 15)
    imp, _, _ = dataset.expected(local(2026, 3, 10), local(2026, 3, 10, 15))
    assert imp is not None
    assert dataset.service.today_kwh(SITE, now, SOFIA) == round(imp / 1000, 3)
    assert dataset.service.today_kwh(SITE, d(2026, 4, 9, 12), SOFIA) is None


@pytest.mark.parametrize(
    ("start", "end", "group_by", "message"),
    [
        (d(2026, 3, 2), d(2026, 3, 1), "day", "after period_from"),
        (d(2026, 3, 1), d(2026, 3, 1), "day", "after period_from"),
        (d(2026, 1, 1), d(2026, 2, 2), "15min", "31 days"),
        (d(2026, 1, 1), d(2027, 1, 3), "hour", "366 days"),
        (d(2000, 1, 1), d(2020, 1, 2), "month", "7305 days"),
        (d(2026, 1, 1), d(2026, 1, 2), "year", "group_by"),
        (dt.datetime(2026, 1, 1), d(2026, 1, 2), "day", "UTC offset"),
    ],
)
def test_refused_queries(
    dataset: Dataset, start: dt.datetime, end: dt.datetime, group_by: str, message: str
) -> None:
    with pytest.raises(QueryError, match=message):
        dataset.service.energy(SITE, start, end, group_by, SOFIA)


def test_limits_count_local_days(dataset: Dataset) -> None:
    # October in Sofia is 31 days and one hour: still 31 days
    got = dataset.service.energy(SITE, d(2026, 10, 1), d(2026, 11, 1), "15min", SOFIA)
    assert len(got) == 31 * 96 + 4
    with pytest.raises(QueryError, match="time zone"):
        dataset.service.energy(SITE, d(2026, 3, 1), d(2026, 3, 2), "day", "Europe/Atlantis")


def test_the_json_answer_is_the_contract(dataset: Dataset) -> None:
    results = dataset.service.energy(SITE, d(2026, 3, 29), d(2026, 3, 31), "day", SOFIA)
    page = paginate(results, page=1, page_size=100)
    answer = EnergyPage(
        site_id=SITE,
        group_by="day",
        tz="Europe/Sofia",
        count=page.count,
        page=page.page,
        page_size=page.page_size,
        next=None,
        previous=None,
        results=page.items,
    ).model_dump(mode="json")
    assert list(answer) == [
        "site_id",
        "group_by",
        "tz",
        "unit",
        "count",
        "page",
        "page_size",
        "next",
        "previous",
        "results",
    ]
    assert answer["unit"] == "kWh"
    first = answer["results"][0]
    assert list(first) == [
        "interval_start",
        "interval_end",
        "import_kwh",
        "export_kwh",
        "completeness",
    ]
    assert first["interval_start"] == "2026-03-29T00:00:00+02:00"
    assert first["interval_end"] == "2026-03-30T00:00:00+03:00"
    assert isinstance(first["import_kwh"], float)
    assert first["completeness"] == 1.0
