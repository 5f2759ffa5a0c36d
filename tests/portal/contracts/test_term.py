"""Access and term: 1.6 credentials, 2.3 start, 2.2 end with free months, 2.4 renewal,
2.5 expiry notice."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal_api.contracts.domain.decision import RuleError
from portal_api.contracts.domain.term import (
    check_expiry_notice,
    credentials_due,
    latest_expiry_notice,
    renewal_start,
    subscription_end,
    subscription_start,
)
from portal_api.domain.workdays import WorkingDays

D = dt.date
CAL = WorkingDays()


def test_clause_1_6_credentials_within_14_calendar_days() -> None:
    d = credentials_due(D(2026, 3, 16), D(2026, 3, 16), CAL)
    assert d.value == D(2026, 3, 30)  # across the DST Sunday 29 Mar, a Monday
    assert d.clause == "1.6"
    assert d.numbers["moved_to_working_day"] is False
    # protocols signed later than the installation: the 14 days run from the protocols
    assert credentials_due(D(2026, 3, 16), D(2026, 3, 17), CAL).value == D(2026, 3, 31)


def test_clause_1_6_last_day_on_a_holiday_moves_to_the_next_working_day() -> None:
    d = credentials_due(D(2026, 12, 10), D(2026, 12, 10), CAL)  # day 14 = 24 Dec
    assert d.numbers["day_14"] == D(2026, 12, 24)
    assert d.value == D(2026, 12, 29)
    assert d.numbers["moved_to_working_day"] is True
    # Orthodox Easter 2027: day 14 = Fri 30 Apr; 1 May (Sat) moved to Tue 4 May
    assert credentials_due(D(2027, 4, 16), D(2027, 4, 16), CAL).value == D(2027, 5, 5)


def test_clause_1_6_the_1_3_deadline_binds_when_earlier() -> None:
    d = credentials_due(D(2026, 4, 1), D(2026, 4, 1), CAL, installation_deadline=D(2026, 4, 8))
    assert d.value == D(2026, 4, 8)
    assert "1.3" in d.reason_en
    # installation already late: 1.6 alone gives 14 days
    late = credentials_due(
        D(2026, 4, 20), D(2026, 4, 20), CAL, installation_deadline=D(2026, 4, 14)
    )
    assert late.value == D(2026, 5, 4)
    with pytest.raises(RuleError):
        credentials_due(D(2026, 4, 20), D(2026, 4, 19), CAL)


@pytest.mark.parametrize(
    ("received", "start"),
    [
        (D(2026, 12, 31), D(2027, 1, 1)),
        (D(2026, 12, 1), D(2027, 1, 1)),
        (D(2028, 2, 29), D(2028, 3, 1)),
        (D(2026, 10, 25), D(2026, 11, 1)),
    ],
)
def test_clause_2_3a_subscription_starts_the_month_after_the_credentials(
    received: dt.date, start: dt.date
) -> None:
    d = subscription_start(received)
    assert d.value == start and d.clause == "2.3a"


def test_clause_2_2_subscription_end_with_free_months() -> None:
    assert subscription_end(D(2027, 1, 1), 12).value == D(2027, 12, 31)
    assert subscription_end(D(2027, 3, 1), 12).value == D(2028, 2, 29)
    assert subscription_end(D(2026, 3, 1), 24).value == D(2028, 2, 29)
    d = subscription_end(D(2027, 1, 1), 24, free_months=1)
    assert d.value == D(2029, 1, 31)
    assert d.numbers["free_months"] == 1
    assert "безплатни" in d.reason_bg
    with pytest.raises(RuleError):
        subscription_end(D(2027, 1, 2), 12)
    with pytest.raises(RuleError):
        subscription_end(D(2027, 1, 1), 6)
    with pytest.raises(RuleError):
        subscription_end(D(2027, 1, 1), 12, free_months=-1)


def test_clause_2_4_renewal_starts_the_month_after_the_old_one_ends() -> None:
    d = renewal_start(D(2027, 12, 31), D(2027, 12, 20))
    assert d.allowed and d.value == D(2028, 1, 1) and d.clause == "2.3b"
    assert renewal_start(D(2028, 2, 29), D(2028, 2, 29)).value == D(2028, 3, 1)
    late = renewal_start(D(2027, 12, 31), D(2028, 1, 4))
    assert not late.allowed and "2.3a" in late.reason_en


def test_clause_2_5_expiry_notice_at_least_14_days_before() -> None:
    assert latest_expiry_notice(D(2028, 2, 29)).value == D(2028, 2, 15)
    assert latest_expiry_notice(D(2027, 1, 7)).value == D(2026, 12, 24)  # holiday: not moved
    ok = check_expiry_notice(D(2027, 12, 31), D(2027, 12, 17))
    assert ok.allowed and ok.numbers["days_before_end"] == 14
    late = check_expiry_notice(D(2027, 12, 31), D(2027, 12, 18))
    assert not late.allowed and late.numbers["latest"] == D(2027, 12, 17)


@given(
    st.dates(D(2025, 1, 1), D(2035, 12, 31)),
    st.sampled_from([12, 24]),
    st.integers(0, 6),
)
def test_clause_2_2_term_covers_whole_months(received: dt.date, period: int, free: int) -> None:
    start = subscription_start(received).value
    end = subscription_end(start, period, free).value
    assert start.day == 1 and start > received
    assert (end + dt.timedelta(days=1)).day == 1
    months = (end.year - start.year) * 12 + end.month - start.month + 1
    assert months == period + free
    assert renewal_start(end, end).value == end + dt.timedelta(days=1)
    assert latest_expiry_notice(end).value == end - dt.timedelta(days=14)
