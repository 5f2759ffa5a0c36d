"""Interruptions and compensation: General Terms 5.1, 5.2, 5.3, 3.2б/в, 6.7, 7.5б."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal_api.contracts.domain.decision import RuleError
from portal_api.contracts.domain.interruptions import (
    Interruption,
    compensated_term_end,
    counts_as_unplanned,
    customer_fault_repair_charge,
    customer_fault_rights,
    fix_deadline,
    free_months,
    planned_duration_check,
    planned_notice_check,
    proposed_from_silence,
    subscription_years,
    termination_right,
    touched_working_days,
    unplanned_notice_check,
    working_days_duration,
)
from portal_api.domain.workdays import WorkingDays

SOFIA = ZoneInfo("Europe/Sofia")
D = dt.date


def at(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> dt.datetime:
    return dt.datetime(y, mo, d, h, mi, tzinfo=SOFIA)


@pytest.fixture(scope="module")
def cal() -> WorkingDays:
    return WorkingDays()


def planned(start: dt.datetime, end: dt.datetime, **kw: object) -> Interruption:
    return Interruption(kind="planned", start=start, end=end, **kw)  # type: ignore[arg-type]


def unplanned(start: dt.datetime, end: dt.datetime | None, **kw: object) -> Interruption:
    return Interruption(kind="unplanned", start=start, end=end, **kw)  # type: ignore[arg-type]


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


# ---------------------------------------------------------------- 3.2в / 3.2б notices


def test_clause_3_2c_planned_notice_one_working_day_before_christmas_break(
    cal: WorkingDays,
) -> None:
    start = at(2026, 12, 29, 9)  # 24-28 December are days off: the day before is Wed 23rd
    ok = planned_notice_check(
        planned(start, at(2026, 12, 29, 11), notified_at=at(2026, 12, 23, 17)), cal
    )
    assert ok.value is True
    assert ok.clause == "3.2c"
    assert ok.numbers["notice_by"] == D(2026, 12, 23)
    late = planned_notice_check(
        planned(start, at(2026, 12, 29, 11), notified_at=at(2026, 12, 24, 8)), cal
    )
    assert late.value is False
    assert planned_notice_check(planned(start, at(2026, 12, 29, 11)), cal).value is False


def test_clause_3_2b_unplanned_notice_within_one_working_day(cal: WorkingDays) -> None:
    # Friday 18 Dec 2026 20:00: over 6 hours on Saturday 02:00 -> notice due by Monday 21st
    item = unplanned(at(2026, 12, 18, 20), at(2026, 12, 21, 15), notified_at=at(2026, 12, 21, 16))
    decision = unplanned_notice_check(item, cal)
    assert decision.value is True
    assert decision.numbers["notice_by"] == D(2026, 12, 21)
    late = unplanned(at(2026, 12, 18, 20), at(2026, 12, 22, 15), notified_at=at(2026, 12, 22, 9))
    assert unplanned_notice_check(late, cal).value is False
    short = unplanned(at(2026, 12, 18, 20), at(2026, 12, 19, 1, 59))
    assert unplanned_notice_check(short, cal).value is True  # not over 6 h: no notice due


# ---------------------------------------------------------------- 5.2


def test_clause_5_2_six_astronomical_hours_across_dst(cal: WorkingDays) -> None:
    # 25 Oct 2026: 00:00 .. 05:30 on the wall clock is 6.5 real hours (clocks go back)
    autumn = counts_as_unplanned(unplanned(at(2026, 10, 25), at(2026, 10, 25, 5, 30)))
    assert autumn.value is True
    assert autumn.numbers["hours"] == Decimal("6.50")
    # 29 Mar 2026: 00:00 .. 06:30 on the wall clock is 5.5 real hours (clocks go forward)
    spring = counts_as_unplanned(unplanned(at(2026, 3, 29), at(2026, 3, 29, 6, 30)))
    assert spring.value is False
    assert spring.numbers["hours"] == Decimal("5.50")
    # exactly 6 hours is not "more than 6"
    assert counts_as_unplanned(unplanned(at(2026, 5, 4, 8), at(2026, 5, 4, 14))).value is False


def test_clause_5_2_fix_within_5_working_days_over_new_year(cal: WorkingDays) -> None:
    # established Wed 23 Dec 2026: 29, 30, 31 Dec, 4, 5 Jan 2027 -> due Tue 5 Jan 2027
    item = unplanned(at(2026, 12, 23, 10), at(2027, 1, 5, 23, 59))
    decision = fix_deadline(item, cal)
    assert decision.value == D(2027, 1, 5)
    assert decision.allowed is True
    late = unplanned(at(2026, 12, 23, 10), at(2027, 1, 6, 0, 1))
    assert fix_deadline(late, cal).allowed is False
    # the customer's earlier report starts the clock, not the later finding
    reported = unplanned(
        at(2026, 12, 18, 10),
        None,
        reported_by_customer_at=at(2026, 12, 18, 11),
        detected_at=at(2026, 12, 23, 9),
    )
    # 5 working days after Fri 18 Dec: 21, 22, 23, 29, 30 Dec
    assert fix_deadline(reported, cal, as_of=at(2026, 12, 23, 12)).value == D(2026, 12, 30)


def test_clause_5_2_device_silent_more_than_6_hours_proposes_an_interruption() -> None:
    since = at(2026, 10, 25)  # 21:00 UTC on the 24th
    decision = proposed_from_silence("mod-42", since, at(2026, 10, 25, 5, 30), sites=["S1"])
    assert decision.allowed is True
    proposal = decision.value
    assert proposal is not None
    assert proposal.kind == "unplanned"
    assert proposal.start == since
    assert proposal.end is None
    assert proposal.device_id == "mod-42"
    assert proposal.sites == frozenset({"S1"})
    assert proposal.company_fault is True
    # spring: the same wall-clock span is only 5.5 hours
    quiet = proposed_from_silence("mod-42", at(2026, 3, 29), at(2026, 3, 29, 6, 30))
    assert quiet.value is None
    assert quiet.allowed is False
    # ingest gives epoch seconds: the adapter converts, the rule takes aware datetimes
    utc_since = dt.datetime.fromtimestamp(1_790_000_000, dt.UTC)
    assert proposed_from_silence("m", utc_since, utc_since + dt.timedelta(hours=6)).value is None
    assert proposed_from_silence("m", utc_since, utc_since + dt.timedelta(hours=6, seconds=1)).value


# ---------------------------------------------------------------- compensation


def test_clause_5_1_compensation_one_free_month_per_breach(cal: WorkingDays) -> None:
    # 11 one-hour planned interruptions in the first subscription year -> frequency breach (1)
    items = [planned(at(2026, m, 5, 9), at(2026, m, 5, 10)) for m in range(1, 12)]
    # and one of 2.5 working days -> duration breach (1)
    items.append(planned(at(2026, 3, 9), at(2026, 3, 11, 12)))
    decision = free_months(items, D(2026, 1, 1), 12, cal)
    assert decision.value == 2
    assert decision.numbers["planned_too_long"] == 1
    assert decision.numbers["planned_frequency_years"] == "2026-01-01..2027-01-01"
    # 10 a year is within the limit
    assert free_months(items[:9], D(2026, 1, 1), 12, cal).value == 0
    # the free months move the subscription's last month on
    assert compensated_term_end(D(2026, 12, 31), 2).value == D(2027, 2, 1)


def test_clause_5_2_compensation_frequency_by_company_fault_and_late_fixes(
    cal: WorkingDays,
) -> None:
    days = [D(2026, 1, 1) + dt.timedelta(days=9 * k) for k in range(21)]
    faults = [unplanned(at(d.year, d.month, d.day, 1), at(d.year, d.month, d.day, 8)) for d in days]
    assert free_months(faults, D(2026, 1, 1), 12, cal).value == 1  # 21 > 20 in the year
    # one of them was the mobile network's (6.6ж): 20 by the company's fault -> within
    third_party = [
        *faults[:20],
        unplanned(faults[20].start, faults[20].end, company_fault=False),
    ]
    assert free_months(third_party, D(2026, 1, 1), 12, cal).value == 0
    # 6 hours or less do not count at all
    short = [unplanned(i.start, i.start + dt.timedelta(hours=6)) for i in faults]
    assert free_months(short, D(2026, 1, 1), 12, cal).value == 0
    # a fix after 5 working days: one more month per fault
    slow = unplanned(at(2026, 12, 23, 10), at(2027, 1, 6, 9))
    assert free_months([slow], D(2026, 1, 1), 24, cal).value == 1
    # the second subscription year of a 24-month term counts on its own
    assert subscription_years(D(2026, 2, 1), 24) == [
        (D(2026, 2, 1), D(2027, 2, 1)),
        (D(2027, 2, 1), D(2028, 2, 1)),
    ]


def test_clause_6_7_obstructed_interruptions_give_nothing(cal: WorkingDays) -> None:
    slow = unplanned(at(2026, 12, 23, 10), at(2027, 1, 6, 9), customer_obstructed=True)
    assert free_months([slow], D(2026, 1, 1), 24, cal).value == 0
    long = planned(
        at(2026, 3, 9), at(2026, 3, 30), customer_obstructed=True, notified_at=at(2026, 3, 1)
    )
    assert termination_right([long], cal).value is False


# ---------------------------------------------------------------- 7.5б thresholds


def test_clause_5_2_termination_after_more_than_10_working_days_over_christmas(
    cal: WorkingDays,
) -> None:
    # Mon 14 Dec 2026 .. Thu 31 Dec 00:00: 14-18, 21-23, 29, 30 Dec = exactly 10 -> not over
    exactly = unplanned(
        at(2026, 12, 14), at(2026, 12, 31), reported_by_customer_at=at(2026, 12, 14, 9)
    )
    assert termination_right([exactly], cal).value is False
    longer = unplanned(
        at(2026, 12, 14), at(2026, 12, 31, 12), reported_by_customer_at=at(2026, 12, 14, 9)
    )
    decision = termination_right([longer], cal)
    assert decision.value is True
    assert decision.clause == "7.5b"
    assert decision.numbers["longest_working_days"] == Decimal("10.5000")
    # 7.5б: nobody notified the fault -> no right
    silent = unplanned(at(2026, 12, 14), at(2026, 12, 31, 12))
    assert termination_right([silent], cal).value is False


def test_clause_5_2_termination_more_than_5_in_a_calendar_month_leap_february(
    cal: WorkingDays,
) -> None:
    def fault(start: dt.datetime) -> Interruption:
        return unplanned(
            start, start + dt.timedelta(hours=7), notified_at=start + dt.timedelta(hours=8)
        )

    feb = [fault(at(2028, 2, d, 8)) for d in (1, 8, 15, 22, 29)]
    # 00:30 on 1 March in Sofia is still 29 February in UTC: it counts in March
    march = fault(at(2028, 3, 1, 0, 30))
    assert termination_right([*feb, march], cal).value is False
    sixth = fault(at(2028, 2, 29, 20))
    decision = termination_right([*feb, sixth], cal)
    assert decision.value is True
    assert decision.numbers["months_over_limit"] == "unplanned 2028-02"
    # planned and unplanned are counted apart
    mixed = [*feb, planned(at(2028, 2, 3, 1), at(2028, 2, 3, 2))]
    assert termination_right(mixed, cal).value is False


def test_clause_5_1_termination_more_than_5_planned_in_a_month(cal: WorkingDays) -> None:
    items = [planned(at(2026, 4, d, 1), at(2026, 4, d, 2)) for d in (1, 2, 6, 7, 8, 9)]
    assert termination_right(items, cal).value is True
    assert termination_right(items[:5], cal).value is False


# ---------------------------------------------------------------- 5.3


def test_clause_5_3_customer_fault_repair_costs_200_percent() -> None:
    damage = unplanned(
        at(2026, 5, 4, 8), at(2026, 5, 6, 8), company_fault=False, customer_caused=True
    )
    rights = customer_fault_rights(damage)
    assert rights.clause == "5.3"
    assert "terminate" in rights.value and "refuse_help" in rights.value
    charge = customer_fault_repair_charge(Decimal("123.45"), Decimal("10.01"))
    assert charge.value == Decimal("256.91")
    assert charge.clause == "5.3"
    assert charge.numbers["penalty_clause"] == "8.1a"
    assert customer_fault_rights(unplanned(at(2026, 5, 4), None)).allowed is False


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
