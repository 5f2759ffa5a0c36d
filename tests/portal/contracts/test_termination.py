"""Termination and its money: General Terms 7.1-7.7 with 8.1 and 8.2."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal_api.contracts.domain.decision import RuleError
from portal_api.contracts.domain.interruptions import Interruption
from portal_api.contracts.domain.termination import (
    Ground,
    after_termination,
    amended_terms_termination,
    company_early_termination,
    company_termination_without_penalty,
    customer_early_termination,
    dismantling_access_penalty,
    ended_by,
    equipment_damage,
    interruptions_termination,
    off_premises_withdrawal,
    ownership_change,
)
from portal_api.domain.workdays import WorkingDays

D = dt.date
E = Decimal
FEE = E("29.99")
LAST = D(2027, 6, 30)  # a subscription running to the end of June 2027


@pytest.fixture(scope="module")
def cal() -> WorkingDays:
    return WorkingDays()


# ---------------------------------------------------------------- 7.1 а-ж


@pytest.mark.parametrize(
    ("ground", "clause"),
    [
        (Ground.TERM_EXPIRED, "7.1a"),
        (Ground.MUTUAL_CONSENT, "7.1b"),
        (Ground.IMPOSSIBLE_INSTALLATION, "7.1c"),
        (Ground.STATE_ACT, "7.1e"),
        (Ground.DEATH_OR_INCAPACITY, "7.1f"),
        (Ground.LIQUIDATION_OR_INSOLVENCY, "7.1g"),
    ],
)
def test_clause_7_1_grounds_end_the_contract_without_penalty(ground: Ground, clause: str) -> None:
    decision = ended_by(ground, D(2028, 2, 29))
    assert decision.clause == clause
    assert decision.allowed is True
    assert decision.value.ends_on == D(2028, 2, 29)
    assert decision.value.customer_owes == E("0.00")
    assert decision.value.company_owes == E("0.00")


def test_clause_7_1d_force_majeure_over_60_days() -> None:
    # from 1 Jan 2026 the 60 days run to 2 March; still lasting on 3 March -> the contract ends
    ongoing = ended_by(Ground.FORCE_MAJEURE, D(2026, 1, 1), as_of=D(2026, 3, 3))
    assert ongoing.allowed is True
    assert ongoing.value.ends_on == D(2026, 3, 3)
    assert ended_by(Ground.FORCE_MAJEURE, D(2026, 1, 1), as_of=D(2026, 3, 2)).allowed is False
    over_in_time = ended_by(
        Ground.FORCE_MAJEURE, D(2026, 1, 1), force_majeure_ended_on=D(2026, 3, 2)
    )
    assert over_in_time.allowed is False
    # a leap year: 60 days from 1 Jan 2028 run to 1 March
    assert ended_by(Ground.FORCE_MAJEURE, D(2028, 1, 1), as_of=D(2028, 3, 2)).value.ends_on == D(
        2028, 3, 2
    )
    with pytest.raises(RuleError):
        ended_by(Ground.FORCE_MAJEURE, D(2026, 1, 1))


def test_clause_7_1f_death_or_interdiction_only_for_natural_persons() -> None:
    assert (
        ended_by(Ground.DEATH_OR_INCAPACITY, D(2026, 5, 6), natural_person=False).allowed is False
    )


# ---------------------------------------------------------------- 7.1з / 8.1в


def test_clause_7_1h_change_of_ownership_of_some_sites_reduces_the_fee() -> None:
    fees = {"A": E("12.34"), "B": E("23.45"), "C": E("5.55")}
    decision = ownership_change(D(2026, 2, 28), ["B"], fees, LAST)
    outcome = decision.value
    assert decision.clause == "7.1h"
    assert outcome.ends_on is None
    assert outcome.continues_for == ("A", "C")
    assert outcome.new_monthly_fee == E("17.89")  # 41.34 - 23.45
    assert outcome.fee_reduced_from == D(2026, 3, 1)
    assert outcome.charges == (("8.1c", E("46.90")),)
    # a change of the right of use only: no 8.1в penalty
    assert ownership_change(D(2026, 2, 28), ["B"], fees, LAST, ownership=False).value.charges == ()
    # all sites: the contract ends, two monthly fees
    whole = ownership_change(D(2026, 12, 31), ["A", "B", "C"], fees, LAST).value
    assert whole.ends_on == D(2026, 12, 31)
    assert whole.customer_owes == E("82.68")
    # on the subscription's last day it is not early: no penalty
    assert ownership_change(LAST, ["A"], fees, LAST).value.charges == ()
    with pytest.raises(RuleError):
        ownership_change(D(2026, 2, 28), ["Z"], fees, LAST)


# ---------------------------------------------------------------- 7.2


def test_clause_7_2_customer_notice_ends_on_a_holiday_and_pays_december() -> None:
    # notice received Mon 14 Dec 2026 -> ends Mon 28 Dec (a day off: a notice period is not moved)
    decision = customer_early_termination(D(2026, 12, 14), FEE, LAST)
    outcome = decision.value
    assert decision.clause == "7.2"
    assert outcome.ends_on == D(2026, 12, 28)
    assert outcome.charges == (("last_month_fee", E("29.99")), ("8.1b", E("59.98")))
    assert outcome.customer_owes == E("89.97")
    assert decision.numbers["last_month"] == D(2026, 12, 1)


def test_clause_7_2_month_end_and_leap_day_decide_the_last_month() -> None:
    assert customer_early_termination(D(2026, 1, 17), FEE, LAST).value.ends_on == D(2026, 1, 31)
    feb = customer_early_termination(D(2026, 1, 18), FEE, LAST)
    assert feb.value.ends_on == D(2026, 2, 1)
    assert feb.numbers["last_month"] == D(2026, 2, 1)
    leap = customer_early_termination(D(2028, 2, 15), FEE, D(2028, 12, 31))
    assert leap.value.ends_on == D(2028, 2, 29)
    # the fee of the last month already paid: only the penalty
    paid = customer_early_termination(D(2026, 1, 17), FEE, LAST, last_month_paid=True)
    assert paid.value.customer_owes == E("59.98")


def test_clause_7_2_end_in_the_free_first_month_owes_only_the_penalty() -> None:
    # credentials in March 2026, first fee April (2.3, 4.3); ends 19 March
    decision = customer_early_termination(D(2026, 3, 5), FEE, LAST, first_fee_month=D(2026, 4, 1))
    assert decision.value.charges == (("last_month_fee", E("0.00")), ("8.1b", E("59.98")))


def test_clause_7_2_notice_running_past_the_term_is_not_early() -> None:
    decision = customer_early_termination(D(2027, 6, 20), FEE, LAST)
    assert decision.allowed is False
    assert decision.value.customer_owes == E("0.00")
    later = customer_early_termination(D(2026, 5, 1), FEE, LAST, requested_end=D(2026, 6, 30))
    assert later.value.ends_on == D(2026, 6, 30)


# ---------------------------------------------------------------- 7.3 / 8.2


def test_clause_7_3_company_notice_owes_two_fees_and_charges_the_last_full_month() -> None:
    decision = company_early_termination(D(2026, 10, 17), FEE, LAST)
    outcome = decision.value
    assert decision.clause == "7.3"
    assert outcome.ends_on == D(2026, 10, 31)
    assert decision.numbers["last_full_month"] == D(2026, 10, 1)
    assert outcome.credits == (("8.2", E("59.98")),)
    assert outcome.customer_owes == E("29.99")
    # one day later the contract ends on 1 November: October is still the last full month
    nov = company_early_termination(D(2026, 10, 18), FEE, LAST)
    assert nov.numbers["last_full_month"] == D(2026, 10, 1)
    # access suspended since 15 September: the last full month with access is August
    cut = company_early_termination(D(2026, 10, 18), FEE, LAST, access_until=D(2026, 9, 14))
    assert cut.numbers["last_full_month"] == D(2026, 8, 1)
    paid = company_early_termination(D(2026, 10, 17), FEE, LAST, last_full_month_paid=True)
    assert paid.value.customer_owes == E("0.00")
    assert paid.value.company_owes == E("59.98")


# ---------------------------------------------------------------- 7.4


def test_clause_7_4_company_ends_without_penalty_only_in_1_4_2_4_4_5_3() -> None:
    late = company_termination_without_penalty("4.4", FEE)
    assert late.allowed is True
    assert late.value.charges == (("8.1b", E("59.98")),)
    assert late.value.company_owes == E("0.00")
    damage = company_termination_without_penalty(
        "5.3", FEE, damaged_equipment_value=E("150.50"), damage_costs=E("20.00")
    )
    assert damage.value.charges == (("8.1a", E("321.00")),)
    assert company_termination_without_penalty("1.4.2", FEE).value.customer_owes == E("0.00")
    assert company_termination_without_penalty("6.5", FEE).allowed is False


# ---------------------------------------------------------------- 7.5


def test_clause_7_5a_amended_terms_within_one_month(cal: WorkingDays) -> None:
    # in force 31 Jan 2026: the month ends 28 Feb, a Saturday -> Monday 2 March
    ok = amended_terms_termination(D(2026, 1, 31), D(2026, 3, 2), cal)
    assert ok.allowed is True
    assert ok.numbers["deadline"] == D(2026, 3, 2)
    assert amended_terms_termination(D(2026, 1, 31), D(2026, 3, 3), cal).allowed is False
    # leap year: 31 Jan 2028 -> 29 Feb 2028, a Tuesday
    assert amended_terms_termination(D(2028, 1, 31), D(2028, 2, 29), cal).allowed is True
    assert amended_terms_termination(D(2028, 1, 31), D(2028, 3, 1), cal).allowed is False
    statutory = amended_terms_termination(
        D(2026, 1, 31), D(2026, 2, 2), cal, statutory_or_authority=True
    )
    assert statutory.allowed is False


def test_clause_7_5b_interruptions_give_the_customer_a_way_out(cal: WorkingDays) -> None:
    sofia = ZoneInfo("Europe/Sofia")
    start = dt.datetime(2026, 12, 14, tzinfo=sofia)
    long = Interruption(
        kind="unplanned",
        start=start,
        end=dt.datetime(2026, 12, 31, 12, tzinfo=sofia),
        reported_by_customer_at=start,
    )
    assert interruptions_termination([long], cal).value is True


def test_clause_7_5c_off_premises_withdrawal_over_christmas_and_easter(cal: WorkingDays) -> None:
    kw = {"natural_person": True, "off_premises": True, "service_started": False}
    # signed 14 Dec 2026: day 14 is Mon 28 Dec, a day off -> Tue 29 Dec
    ok = off_premises_withdrawal(D(2026, 12, 14), D(2026, 12, 29), cal, **kw)  # type: ignore[arg-type]
    assert ok.allowed is True
    assert ok.numbers["deadline"] == D(2026, 12, 29)
    assert ok.value.customer_owes == E("0.00")
    assert (
        off_premises_withdrawal(D(2026, 12, 14), D(2026, 12, 30), cal, **kw).allowed  # type: ignore[arg-type]
        is False
    )
    # signed 16 Apr 2027: day 14 is Good Friday 30 Apr; Easter and 1 May -> Wed 5 May
    easter = off_premises_withdrawal(D(2027, 4, 16), D(2027, 5, 5), cal, **kw)  # type: ignore[arg-type]
    assert easter.numbers["deadline"] == D(2027, 5, 5)
    assert easter.allowed is True
    started = off_premises_withdrawal(
        D(2026, 12, 14),
        D(2026, 12, 20),
        cal,
        natural_person=True,
        off_premises=True,
        service_started=True,
        costs_incurred=E("15.505"),
    )
    assert started.value.charges == (("costs_incurred", E("15.51")),)
    company = off_premises_withdrawal(
        D(2026, 12, 14),
        D(2026, 12, 20),
        cal,
        natural_person=False,
        off_premises=True,
        service_started=False,
    )
    assert company.allowed is False


# ---------------------------------------------------------------- 7.6, 7.7, 8.1


def test_clause_7_6_service_stops_after_the_last_day() -> None:
    assert after_termination(D(2028, 2, 28)).value == D(2028, 2, 29)


def test_clause_8_1d_no_access_for_dismantling_within_14_days(cal: WorkingDays) -> None:
    # request sent 14 Dec 2026: day 14 is the 28th (off) -> access due by Tue 29 Dec
    waiting = dismantling_access_penalty(E("180.00"), D(2026, 12, 14), D(2026, 12, 29), cal)
    assert waiting.value == E("0.00")
    late = dismantling_access_penalty(E("180.00"), D(2026, 12, 14), D(2026, 12, 30), cal)
    assert late.value == E("360.00")
    assert late.clause == "8.1d"


def test_clause_8_1a_equipment_damage_200_percent_plus_costs() -> None:
    decision = equipment_damage(E("99.995"), E("12.50"))
    assert decision.value == E("212.49")  # 199.99 + 12.50
    assert decision.clause == "8.1a"


# ---------------------------------------------------------------- properties


fees = st.decimals(min_value=0, max_value=10_000, places=2)
days = st.dates(min_value=D(2026, 1, 1), max_value=D(2028, 12, 31))


@settings(max_examples=80, deadline=None)
@given(fee=fees, notice=days, paid=st.booleans())
def test_termination_amounts_are_never_negative_and_to_the_cent(
    fee: Decimal, notice: dt.date, paid: bool
) -> None:
    last = D(2029, 1, 31)
    customer = customer_early_termination(notice, fee, last, last_month_paid=paid).value
    company = company_early_termination(notice, fee, last, last_full_month_paid=paid).value
    for amount in (customer.customer_owes, company.customer_owes, company.company_owes):
        assert amount >= 0
        assert amount == amount.quantize(E("0.01"))
    assert customer.customer_owes >= 2 * fee
    assert company.company_owes == (2 * fee).quantize(E("0.01"))
