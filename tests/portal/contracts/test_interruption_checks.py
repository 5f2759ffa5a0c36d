"""Checks of one interruption: General Terms 3.2б, 3.2в, 5.1, 5.2."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from portal_api.contracts.domain.interruption_checks import (
    counts_as_unplanned,
    fix_deadline,
    planned_notice_check,
    proposed_from_silence,
    unplanned_notice_check,
)
from portal_api.domain.workdays import WorkingDays
from tests.portal.contracts.samples import at, planned, unplanned

D = dt.date


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
