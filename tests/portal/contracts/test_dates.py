"""Calendar arithmetic of the General Terms (ЗЗД art. 72; months of 2.2, 2.3)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal_api.contracts.domain.dates import (
    SOFIA,
    add_months,
    first_of_month,
    first_of_next_month,
    local_date,
    month_end,
    next_working_day_if_off,
)
from portal_api.domain.workdays import WorkingDays

D = dt.date


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (D(2026, 1, 31), 1, D(2026, 2, 28)),
        (D(2028, 1, 31), 1, D(2028, 2, 29)),  # leap year
        (D(2026, 3, 31), 1, D(2026, 4, 30)),
        (D(2026, 12, 31), 2, D(2027, 2, 28)),  # across the year
        (D(2028, 2, 29), 12, D(2029, 2, 28)),  # leap day to a common year
        (D(2028, 2, 29), 48, D(2032, 2, 29)),  # leap day to a leap year
        (D(2026, 5, 15), -5, D(2025, 12, 15)),
        (D(2026, 3, 31), -1, D(2026, 2, 28)),
        (D(2026, 4, 1), 0, D(2026, 4, 1)),
    ],
)
def test_zzd_72_2_add_months_clamps_to_month_end(
    day: dt.date, months: int, expected: dt.date
) -> None:
    assert add_months(day, months) == expected


@pytest.mark.parametrize(
    ("day", "first", "following", "last"),
    [
        (D(2026, 2, 28), D(2026, 2, 1), D(2026, 3, 1), D(2026, 2, 28)),
        (D(2028, 2, 29), D(2028, 2, 1), D(2028, 3, 1), D(2028, 2, 29)),
        (D(2028, 2, 1), D(2028, 2, 1), D(2028, 3, 1), D(2028, 2, 29)),
        (D(2026, 12, 31), D(2026, 12, 1), D(2027, 1, 1), D(2026, 12, 31)),
        (D(2026, 4, 30), D(2026, 4, 1), D(2026, 5, 1), D(2026, 4, 30)),
        (D(2026, 3, 29), D(2026, 3, 1), D(2026, 4, 1), D(2026, 3, 31)),  # DST day
    ],
)
def test_clause_2_3_month_boundaries(
    day: dt.date, first: dt.date, following: dt.date, last: dt.date
) -> None:
    assert first_of_month(day) == first
    assert first_of_next_month(day) == following
    assert month_end(day) == last


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (D(2026, 12, 24), D(2026, 12, 29)),  # Christmas Eve .. the 28th (26th moved) off
        (D(2026, 12, 28), D(2026, 12, 29)),  # the moved holiday
        (D(2026, 4, 10), D(2026, 4, 14)),  # Orthodox Good Friday .. Easter Monday
        (D(2027, 4, 30), D(2027, 5, 5)),  # Good Friday .. Easter Monday 3 May, 1 May moved to 4th
        (D(2026, 3, 3), D(2026, 3, 4)),  # Liberation Day
        (D(2026, 10, 25), D(2026, 10, 26)),  # DST Sunday
        (D(2026, 12, 29), D(2026, 12, 29)),  # a working day stays
    ],
)
def test_zzd_72_3_next_working_day_if_off(
    day: dt.date, expected: dt.date, cal: WorkingDays
) -> None:
    assert next_working_day_if_off(day, cal) == expected


def test_local_date_is_sofia_day() -> None:
    moment = dt.datetime(2026, 10, 24, 21, 30, tzinfo=dt.UTC)  # 00:30 EEST on the 25th
    assert local_date(moment) == D(2026, 10, 25)
    assert local_date(dt.datetime(2026, 3, 29, 0, 30, tzinfo=SOFIA)) == D(2026, 3, 29)


@given(st.dates(D(2000, 1, 1), D(2100, 12, 31)), st.integers(-240, 240))
def test_add_months_properties(day: dt.date, months: int) -> None:
    later = add_months(day, months)
    assert (later.year * 12 + later.month) - (day.year * 12 + day.month) == months
    assert later.day == min(day.day, month_end(later).day)
    assert first_of_month(later) <= later <= month_end(later)
