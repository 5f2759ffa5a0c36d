"""The Bulgarian working-day calendar on its edges (holidays 0.109, country BG)."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from portal_api.domain.workdays import WorkingDays

D = dt.date


@pytest.fixture(scope="module")
def days() -> WorkingDays:
    return WorkingDays()


@pytest.mark.parametrize(
    "day",
    [
        D(2026, 1, 1),  # New Year
        D(2026, 1, 2),  # one-off non-working day (Council of Ministers, euro changeover)
        D(2026, 3, 3),  # Liberation Day, a Tuesday
        D(2026, 4, 10),  # Good Friday (Orthodox Easter 12 April 2026)
        D(2026, 4, 13),  # Easter Monday
        D(2026, 5, 1),
        D(2026, 5, 6),  # St George's Day, a Wednesday: not moved
        D(2026, 5, 25),  # 24 May is a Sunday: moved to Monday
        D(2026, 9, 7),  # 6 September is a Sunday: moved to Monday
        D(2026, 9, 22),
        D(2026, 12, 24),
        D(2026, 12, 25),
        D(2026, 12, 28),  # 26 December is a Saturday: moved to Monday
        D(2025, 12, 31),  # one-off non-working day
    ],
)
def test_holidays_are_not_working_days(days: WorkingDays, day: dt.date) -> None:
    assert not days.is_working_day(day)


@pytest.mark.parametrize(
    "day",
    [D(2026, 3, 2), D(2026, 3, 4), D(2026, 4, 9), D(2026, 4, 14), D(2026, 12, 23), D(2026, 12, 29)],
)
def test_ordinary_weekdays_are_working_days(days: WorkingDays, day: dt.date) -> None:
    assert days.is_working_day(day)


def test_weekends_are_off_and_easter_saturday_and_sunday_are_not_moved(days: WorkingDays) -> None:
    assert not days.is_working_day(D(2026, 4, 11))
    assert not days.is_working_day(D(2026, 4, 12))
    # Easter Saturday/Sunday fall on a weekend by nature: no extra day off after Monday
    assert days.is_working_day(D(2026, 4, 14))


def test_saturdays_worked_in_exchange_count(days: WorkingDays) -> None:
    # 2016 (before the 2017 rule): Friday 4 March off, worked on Saturday 12 March
    assert not days.is_working_day(D(2016, 3, 4))
    assert days.is_working_day(D(2016, 3, 12))
    assert not days.is_working_day(D(2016, 3, 13))


def test_add_working_days_over_the_easter_weekend(days: WorkingDays) -> None:
    # received Thursday 9 April 2026: Fri-Mon are off, so 3 working days end Thursday 16
    assert days.add_working_days(D(2026, 4, 9), 1) == D(2026, 4, 14)
    assert days.add_working_days(D(2026, 4, 9), 3) == D(2026, 4, 16)


def test_add_working_days_over_christmas_and_new_year(days: WorkingDays) -> None:
    assert days.add_working_days(D(2026, 12, 23), 3) == D(2026, 12, 31)
    assert days.add_working_days(D(2025, 12, 30), 1) == D(2026, 1, 5)


def test_add_working_days_from_a_holiday_and_backwards(days: WorkingDays) -> None:
    assert days.add_working_days(D(2026, 4, 11), 0) == D(2026, 4, 11)
    assert days.add_working_days(D(2026, 4, 11), 1) == D(2026, 4, 14)
    assert days.add_working_days(D(2026, 4, 14), -1) == D(2026, 4, 9)
    assert days.next_working_day(D(2026, 5, 22)) == D(2026, 5, 26)


def test_working_days_between_is_the_inverse(days: WorkingDays) -> None:
    start = D(2026, 12, 20)
    for n in range(0, 15):
        end = days.add_working_days(start, n)
        assert days.working_days_between(start, end) == n
    assert days.working_days_between(D(2026, 4, 16), D(2026, 4, 9)) == -3
    assert days.working_days_between(D(2026, 1, 1), D(2026, 12, 31)) == 248


def test_extra_days_from_configuration() -> None:
    days = WorkingDays(extra_holidays=[D(2026, 6, 1)], extra_workdays=[D(2026, 6, 6)])
    assert not days.is_working_day(D(2026, 6, 1))
    assert days.is_working_day(D(2026, 6, 6))


def test_holiday_names_come_from_the_library(days: WorkingDays) -> None:
    assert days.holiday_name(D(2026, 3, 3)) is not None
    assert days.holiday_name(D(2026, 3, 4)) is None


def test_concurrent_first_use_is_safe() -> None:
    days = WorkingDays()
    results: list[bool] = []

    def worker() -> None:
        results.append(days.is_working_day(D(2030, 3, 3)))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [False] * 8  # Liberation Day
