"""Intervals of a query, row grouping and paging: the pure helpers."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from ingest.store import EnergyKey, EnergyRow, SqliteStore
from portal_api.consumption import ConsumptionService, QueryError, paginate, zone
from portal_api.consumption.calendar import intervals, week_bounds
from portal_api.consumption.grouping import sum_rows
from portal_api.consumption.validation import check_period, parse_instant
from tests.portal.consumption.data import SOFIA, local

UTC = ZoneInfo("UTC")


def test_iso_weeks_are_monday_to_monday_across_dst() -> None:
    start, end = week_bounds(local(2026, 3, 29, 12), SOFIA)  # a Sunday
    assert (start, end) == (local(2026, 3, 23), local(2026, 3, 30))
    assert end - start == 167 * 3600
    start, end = week_bounds(local(2026, 10, 26), SOFIA)  # the Monday after fall-back
    assert (start, end) == (local(2026, 10, 26), local(2026, 11, 2))
    assert (
        week_bounds(local(2026, 10, 25, 23), SOFIA)[1]
        - week_bounds(local(2026, 10, 25, 23), SOFIA)[0]
        == 169 * 3600
    )


def test_periods_widen_to_whole_intervals() -> None:
    got = intervals(local(2026, 3, 10, 10, 7), local(2026, 3, 10, 11, 1), "15min", SOFIA)
    assert got[0][0] == local(2026, 3, 10, 10)
    assert got[-1][1] == local(2026, 3, 10, 11, 15)
    assert len(got) == 5
    months = intervals(local(2026, 2, 15), local(2026, 4, 2), "month", SOFIA)
    assert [s for s, _ in months] == [local(2026, 2, 1), local(2026, 3, 1), local(2026, 4, 1)]


def test_unknown_zone() -> None:
    assert zone("Europe/Sofia") == SOFIA
    for bad in ("Europe/Atlantis", "../etc/passwd", ""):
        with pytest.raises(QueryError, match="time zone"):
            zone(bad)


def row(start: int, end: int, wh: int, completeness: float = 1.0) -> EnergyRow:
    return EnergyRow(EnergyKey("site", "s"), "15min", start, end, wh, 0, completeness)


def test_sum_rows_weighs_completeness_by_duration_and_refuses_straddling_rows() -> None:
    bounds = [(0, 3600), (3600, 7200)]
    got = sum_rows([row(0, 900, 10), row(900, 1800, 20, 0.5), row(5400, 6300, 0, 0.0)], bounds)
    assert got[0].import_wh == 30
    assert got[0].completeness == pytest.approx(1350 / 3600)
    # a row that covers nothing and holds nothing: still a gap
    assert (got[1].import_wh, got[1].completeness) == (None, 0.0)
    with pytest.raises(ValueError, match="straddles"):
        sum_rows([row(3000, 3900, 1)], bounds)


def test_stored_hours_serve_other_whole_hour_zones() -> None:
    """UTC days are summed from Sofia's hour rows (24 rows, not 96 quarter-hours): an
    hour row alone in the store is enough to answer a UTC day."""
    store = SqliteStore(":memory:")
    store.init()
    key = EnergyKey("site", "s")
    t = int(dt.datetime(2026, 3, 10, 5, tzinfo=dt.UTC).timestamp())
    store.write_energy([EnergyRow(key, "hour", t, t + 3600, 1234, 0, 1.0)])
    service = ConsumptionService(store)
    day = dt.datetime(2026, 3, 10, tzinfo=dt.UTC)
    (utc_day,) = service.energy("s", day, day + dt.timedelta(days=1), "day", UTC)
    assert utc_day.import_kwh == 1.234
    assert utc_day.completeness == pytest.approx(1 / 24, abs=1e-4)
    # in a half-hour zone the hours do not nest: quarter-hours are used (none here)
    kolkata = ZoneInfo("Asia/Kolkata")
    k_day = dt.datetime(2026, 3, 10, tzinfo=kolkata)
    (k,) = service.energy("s", k_day, k_day + dt.timedelta(days=1), "day", kolkata)
    assert k.import_kwh is None
    store.close()


def test_paginate() -> None:
    items = list(range(1, 251))
    first = paginate(items, 1, 100)
    assert (first.items[0], first.items[-1], first.count) == (1, 100, 250)
    assert (first.has_previous, first.has_next) == (False, True)
    last = paginate(items, 3, 100)
    assert (last.items, last.has_next) == (list(range(201, 251)), False)
    newest = paginate(items, 1, 10, order="desc")
    assert newest.items == list(range(250, 240, -1))
    assert paginate(items, 4, 100).items == []
    for page, size in ((0, 10), (1, 0), (1, 5001)):
        with pytest.raises(QueryError):
            paginate(items, page, size)


def test_parse_instant() -> None:
    assert parse_instant("2026-03-29", SOFIA, "period_from").isoformat() == (
        "2026-03-29T00:00:00+02:00"
    )
    assert parse_instant("2026-03-30", SOFIA, "period_to").isoformat() == (
        "2026-03-30T00:00:00+03:00"
    )
    got = parse_instant("2026-03-29T01:00:00Z", SOFIA, "period_from")
    assert got == dt.datetime(2026, 3, 29, 1, tzinfo=dt.UTC)
    with pytest.raises(QueryError, match="period_to must carry a UTC offset"):
        parse_instant("2026-03-29T01:00:00", SOFIA, "period_to")
    with pytest.raises(QueryError, match="period_from is not an ISO 8601"):
        parse_instant("yesterday", SOFIA, "period_from")


def test_a_period_near_the_end_of_time_is_refused_cleanly() -> None:
    start = dt.datetime(9999, 1, 1, tzinfo=dt.UTC)
    with pytest.raises(QueryError, match="after period_from"):
        check_period(start, start, UTC, 7305, "group_by=day")
    assert check_period(start, start + dt.timedelta(days=1), UTC, 7305, "group_by=day")
