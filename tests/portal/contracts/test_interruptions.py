"""The interruption value object and its durations: General Terms 5.1, 5.2 (working days, DST)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal_api.contracts.domain.decision import RuleError
from portal_api.contracts.domain.interruption_checks import (
    counts_as_unplanned,
    planned_duration_check,
)
from portal_api.contracts.domain.interruptions import (
    Interruption,
    touched_working_days,
    working_days_duration,
)
from portal_api.domain.workdays import WorkingDays
from tests.portal.contracts.samples import at, planned, unplanned

D = dt.date


# ---------------------------------------------------------------- input


def test_naive_or_backwards_times_are_rule_errors() -> None:
    with pytest.raises(RuleError):
        Interruption(kind="planned", start=dt.datetime(2026, 1, 5), end=None)
    with pytest.raises(RuleError):
        planned(at(2026, 1, 6), at(2026, 1, 5))
    with pytest.raises(RuleError):
        unplanned(at(2026, 1, 5), None, company_fault=True, customer_caused=True)


# ---------------------------------------------------------------- durations


def test_clause_5_1_duration_in_working_days_skips_3_march(cal: WorkingDays) -> None:
    # Mon 2 March 00:00 .. Wed 4 March 12:00: 3 March (Liberation Day) does not count
    assert working_days_duration(at(2026, 3, 2), at(2026, 3, 4, 12), cal) == Fraction(3, 2)
    # the same span a week later covers 2.5 working days
    assert working_days_duration(at(2026, 3, 9), at(2026, 3, 11, 12), cal) == Fraction(5, 2)
    assert touched_working_days(at(2026, 3, 2), at(2026, 3, 4, 12), cal) == 2


def test_clause_5_1_duration_across_the_25_hour_day(cal: WorkingDays) -> None:
    # Sat 24 Oct .. Mon 26 Oct 12:00 spans the 25-hour Sunday: 61 real hours, half a working day
    start, end = at(2026, 10, 24), at(2026, 10, 26, 12)
    item = unplanned(start, end)
    assert item.elapsed() == dt.timedelta(hours=61)
    assert working_days_duration(start, end, cal) == Fraction(1, 2)
    assert counts_as_unplanned(item).numbers["hours"] == Decimal("61.00")


def test_clause_5_1_planned_duration_over_easter_2026(cal: WorkingDays) -> None:
    # Thu 9 April 12:00 .. Tue 14 April 12:00: Good Friday to Easter Monday are off -> 1 day
    within = planned_duration_check(planned(at(2026, 4, 9, 12), at(2026, 4, 14, 12)), cal)
    assert within.value is True
    assert within.clause == "5.1"
    assert within.numbers["working_days"] == Decimal("1.0000")
    # Mon 9 March 00:00 .. Wed 11 March 12:00 -> 2.5 working days: over the 2 allowed
    over = planned_duration_check(planned(at(2026, 3, 9), at(2026, 3, 11, 12)), cal)
    assert over.value is False
    assert over.numbers["working_days"] == Decimal("2.5000")
    # exactly 2 working days is still within ("не повече от 2")
    assert planned_duration_check(planned(at(2026, 3, 9), at(2026, 3, 11)), cal).value is True


# ---------------------------------------------------------------- properties


moments = st.datetimes(
    min_value=dt.datetime(2026, 1, 1),
    max_value=dt.datetime(2028, 12, 31),
    timezones=st.just(dt.UTC),
)


@settings(max_examples=60, deadline=None)
@given(a=moments, b=moments, c=moments)
def test_working_day_duration_is_additive_and_bounded(
    a: dt.datetime, b: dt.datetime, c: dt.datetime
) -> None:
    cal = WorkingDays()
    a, b, c = sorted((a, b, c))
    ab = working_days_duration(a, b, cal)
    bc = working_days_duration(b, c, cal)
    assert ab >= 0
    assert ab + bc == working_days_duration(a, c, cal)
    # never more than the local calendar days touched
    assert ab <= touched_working_days(a, b, cal) if b > a else ab == 0
